// The seams of the generation path, without a model: request validation and deadlines
// (request.ts), admission (admission.ts), the plan (Scheduler.schedule / updateFromOutput) and
// the per-request output (output.ts: detokenization and stop strings).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AdmissionPolicy, RoomQueues } from '../../server/src/inference/admission';
import type { CausalLM } from '../../server/src/inference/causal-lm';
import { InferenceError } from '../../server/src/inference/errors';
import { RequestOutput } from '../../server/src/inference/output';
import { bindSignal, chooseModel, deadlineAt, prepareGenerate } from '../../server/src/inference/request';
import { DEFAULT_SAMPLING } from '../../server/src/inference/sampling';
import { Scheduler, type SequenceRequest } from '../../server/src/inference/scheduler';
import { GenerationStream, type GenerationResult } from '../../server/src/inference/stream';
import { TextTokenizer } from '../../server/src/inference/tokenizer';
import { writeByteLevelTokenizer } from './helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-seams-'));
const tok = TextTokenizer.fromFiles(writeByteLevelTokenizer(dir), path.join(dir, 'tokenizer_config.json'));
const greedy = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 };

/** Token ids of `text`, one byte token each (no merges, no BOS), for hand-fed outputs. */
const bytes = (text: string): number[] => [...Buffer.from(text, 'utf8')].map((b) => 3 + b);

function output(stops: string[], context = tok.encode('Once')): { out: RequestOutput; chunks: string[] } {
  const chunks: string[] = [];
  const out = new RequestOutput(tok, context, stops, (t) => chunks.push(t));
  return { out, chunks };
}

describe('request.ts: validation, model choice and deadlines, decided once', () => {
  it('chooseModel: the first model by default, the named one, or unknown_model listing what is loaded', () => {
    expect(chooseModel(['a', 'b'], undefined, 'text-generation')).toBe('a');
    expect(chooseModel(['a', 'b'], 'b', 'text-generation')).toBe('b');
    expect(() => chooseModel(['a', 'b'], 'c', 'embedding')).toThrowError(/unknown embedding model "c" \(loaded: a, b\)/);
    expect(() => chooseModel([], undefined, 'image-generation')).toThrowError(expect.objectContaining({ code: 'unknown_model', message: 'no image-generation model is loaded' }));
    expect(() => chooseModel([], 'x', 'embedding')).toThrowError(/loaded: none/);
  });

  it('deadlineAt: a budget becomes an absolute time; an absolute time (> 1e12) stays as it is', () => {
    expect(deadlineAt(undefined)).toBeUndefined();
    expect(deadlineAt(250, 1_000)).toBe(1_250);
    expect(deadlineAt(0, 1_000)).toBe(1_000);
    const abs = 1_800_000_000_000;
    expect(deadlineAt(abs, 5)).toBe(abs);
  });

  it('prepareGenerate fills every default and fixes the deadline once', () => {
    const before = Date.now();
    const spec = prepareGenerate({ prompt: 'Once', roomId: 'r', deadlineMs: 5_000 }, ['m1', 'm2']);
    expect(spec).toMatchObject({ prompt: 'Once', model: 'm1', roomId: 'r', maxTokens: 64, sampling: DEFAULT_SAMPLING, stop: [], ignoreEos: false, minTokens: 0 });
    expect(Number.isInteger(spec.seed)).toBe(true);
    expect(spec.deadlineAt).toBeGreaterThanOrEqual(before + 5_000);
    expect(spec.deadlineAt).toBeLessThanOrEqual(Date.now() + 5_000);
    // The spec is plain data (it crosses the worker port) and, fed back, keeps its absolute deadline.
    expect(structuredClone(spec)).toEqual(spec);
    const again = prepareGenerate({ prompt: 'x', roomId: 'r', model: 'm2', seed: 7, temperature: 0, topK: 1, topP: 0.5, repetitionPenalty: 1, stop: ['\n'], ignoreEos: true, minTokens: 2, maxTokens: 3, deadlineMs: spec.deadlineAt }, ['m1', 'm2']);
    expect(again).toEqual({ prompt: 'x', model: 'm2', roomId: 'r', maxTokens: 3, sampling: { temperature: 0, topK: 1, topP: 0.5, repetitionPenalty: 1 }, seed: 7, stop: ['\n'], ignoreEos: true, minTokens: 2, deadlineAt: spec.deadlineAt });
    expect('deadlineAt' in prepareGenerate({ prompt: 'x', roomId: 'r' }, ['m1'])).toBe(false);
  });

  it('prepareGenerate refuses: unknown model first, then an empty prompt, then an aborted signal', () => {
    const ac = new AbortController();
    ac.abort();
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return (e as InferenceError).code;
      }
      return undefined;
    };
    expect(code(() => prepareGenerate({ prompt: '', roomId: 'r', model: 'nope', signal: ac.signal }, ['m']))).toBe('unknown_model');
    expect(code(() => prepareGenerate({ prompt: ' \n ', roomId: 'r', signal: ac.signal }, ['m']))).toBe('empty_prompt');
    expect(code(() => prepareGenerate({ prompt: 42 as unknown as string, roomId: 'r' }, ['m']))).toBe('empty_prompt');
    expect(code(() => prepareGenerate({ prompt: 'hi', roomId: 'r', signal: ac.signal }, ['m']))).toBe('aborted');
  });

  it('bindSignal aborts the stream, and lets go of the signal once the result settles', async () => {
    let aborts = 0;
    const ac = new AbortController();
    const s = new GenerationStream(() => aborts++);
    bindSignal(ac.signal, s);
    ac.abort();
    expect(aborts).toBe(1);
    const ac2 = new AbortController();
    const t = new GenerationStream(() => aborts++);
    bindSignal(ac2.signal, t);
    t.finish({ text: '', finishReason: 'stop', tokens: 0 });
    await t.result;
    ac2.abort();
    expect(aborts).toBe(1);
    bindSignal(undefined, t); // no signal: nothing to do
  });
});

describe('admission.ts: queue limit, fairness across rooms, per-room caps', () => {
  const item = (id: number, roomId: string) => ({ id, roomId });

  it('AdmissionPolicy: busy at maxQueue waiting; maxPerRoom defaults to maxBatch - 1 (at least 1, at most maxBatch)', () => {
    const p = new AdmissionPolicy({ maxBatch: 4, maxQueue: 2 });
    expect(p.maxPerRoom).toBe(3);
    expect(() => p.checkQueue(1)).not.toThrow();
    expect(() => p.checkQueue(2)).toThrowError(expect.objectContaining({ code: 'busy', message: expect.stringMatching(/busy: 2 requests are already queued \(ENSEMBLE_MAX_QUEUE=2\)/) }));
    expect(new AdmissionPolicy({ maxBatch: 1, maxQueue: 0 }).maxPerRoom).toBe(1);
    expect(new AdmissionPolicy({ maxBatch: 4, maxQueue: 0, maxPerRoom: 9 }).maxPerRoom).toBe(4);
    expect(new AdmissionPolicy({ maxBatch: 0, maxQueue: -3 })).toMatchObject({ maxBatch: 1, maxQueue: 0, maxPerRoom: 1 });
    const refused: Array<string | undefined> = [];
    const counted = new AdmissionPolicy({ maxBatch: 1, maxQueue: 1 }, (model) => refused.push(model));
    counted.checkQueue(0, 'm');
    expect(() => counted.checkQueue(1, 'm')).toThrow(InferenceError);
    expect(refused).toEqual(['m']);
  });

  it('round-robin: the room served longest ago goes first, ties by the oldest request', () => {
    const q = new RoomQueues(new AdmissionPolicy({ maxBatch: 8, maxQueue: 100, maxPerRoom: 8 }));
    for (const [id, room] of [[1, 'busy'], [2, 'busy'], [3, 'busy'], [4, 'quiet'], [5, 'other'], [6, 'busy']] as const) q.enqueue(item(id, room));
    expect(q.size).toBe(6);
    expect(q.admit(3, []).map((x) => x.id)).toEqual([1, 4, 5]);
    expect(q.admit(8, []).map((x) => x.id)).toEqual([2, 3, 6]);
    expect(q.size).toBe(0);
  });

  it("per-room cap: a room's running sequences count against it, so another room's request gets the slot", () => {
    const q = new RoomQueues(new AdmissionPolicy({ maxBatch: 4, maxQueue: 100 })); // maxPerRoom 3
    for (let i = 1; i <= 4; i++) q.enqueue(item(i, 'busy'));
    expect(q.admit(4, []).map((x) => x.id)).toEqual([1, 2, 3]); // the 4th would fill the batch with one room
    q.enqueue(item(9, 'quiet'));
    expect(q.admit(1, ['busy', 'busy', 'busy']).map((x) => x.id)).toEqual([9]);
    expect(q.admit(1, ['busy', 'busy', 'busy', 'quiet'])).toEqual([]);
    expect(q.admit(1, ['busy', 'busy', 'quiet']).map((x) => x.id)).toEqual([4]);
  });

  it('remove() takes a waiting item out of its room queue', () => {
    const q = new RoomQueues(new AdmissionPolicy({ maxBatch: 2, maxQueue: 10 }));
    const a = item(1, 'a');
    const b = item(2, 'a');
    q.enqueue(a);
    q.enqueue(b);
    expect(q.remove(a)).toBe(true);
    expect(q.remove(a)).toBe(false);
    expect(q.size).toBe(1);
    expect(q.admit(2, [])).toEqual([b]);
  });
});

describe('output.ts: RequestOutput owns detokenization and stop strings', () => {
  it('a stop string split across tokens is held back, never streamed, and ends the output', () => {
    const { out, chunks } = output(['END']);
    const ids = bytes(' the END of it');
    let stoppedAt = -1;
    ids.forEach((t, i) => {
      if (stoppedAt < 0 && out.append(t)) stoppedAt = i;
    });
    expect(stoppedAt).toBe(bytes(' the EN').length); // the token that completed "END"
    expect(out.stopped).toBe(true);
    expect(out.text).toBe(' the ');
    expect(chunks.join('')).toBe(' the ');
    for (const c of chunks) expect(c).not.toMatch(/E/);
    expect(out.finish()).toBe(false); // already ended: nothing more
    expect(out.text).toBe(' the ');
  });

  it('a held-back prefix that turns out not to be a stop string is released', () => {
    const { out, chunks } = output(['ENDE']);
    for (const t of bytes(' EN')) expect(out.append(t)).toBe(false);
    expect(chunks.join('')).toBe(' ');
    for (const t of bytes('Dx')) out.append(t);
    expect(chunks.join('')).toBe(' ENDx');
    expect(out.finish()).toBe(false);
    expect(out.text).toBe(' ENDx');
  });

  it('a stop string in the whitespace before the first visible character is ignored', () => {
    const { out } = output(['\n\n']);
    for (const t of bytes('\n\nThe end')) expect(out.append(t)).toBe(false);
    const stopped = bytes('\n\nmore').some((t) => out.append(t));
    expect(stopped).toBe(true);
    expect(out.text).toBe('\n\nThe end');
  });

  it('finish() flushes the held-back text and an incomplete character', () => {
    const { out, chunks } = output(['xyz']);
    for (const t of bytes(' ab x')) out.append(t);
    expect(out.text).toBe(' ab ');
    const e = bytes('é');
    out.append(e[0]!); // half a character: nothing yet
    expect(out.finish()).toBe(false);
    expect(out.text).toBe(' ab x\uFFFD');
    expect(chunks.join('')).toBe(out.text);
    expect(out.finish()).toBe(false); // idempotent
    expect(chunks.join('')).toBe(' ab x\uFFFD');
  });

  it('a stop string spanning a multi-byte character split over byte tokens', () => {
    const { out } = output(['é!']);
    for (const t of bytes('ok é')) out.append(t); // "é" is two byte tokens, then held back as a stop prefix
    expect(out.text).toBe('ok ');
    expect(out.append(bytes('!')[0]!)).toBe(true);
    expect(out.text).toBe('ok ');
  });

  it('finish() runs the same stop scan over the flushed text (and reports it)', () => {
    // The only text a flush can add with a byte-level decoder is an incomplete character (U+FFFD).
    const { out } = output(['\uFFFD']);
    for (const t of bytes('ok ')) out.append(t);
    out.append(bytes('é')[0]!);
    expect(out.finish()).toBe(true);
    expect(out.text).toBe('ok ');
  });

  it('without stop strings every complete character is emitted at once, tagged with its token', () => {
    const tagged: Array<[string, number]> = [];
    const out = new RequestOutput(tok, [], [], (t, id) => tagged.push([t, id]));
    const ids = bytes('hi');
    ids.forEach((t) => out.append(t));
    expect(tagged).toEqual([
      ['h', ids[0]],
      ['i', ids[1]],
    ]);
  });
});

describe('Scheduler.schedule() and updateFromOutput() (no model: a stand-in CausalLM)', () => {
  const fakeLm = (contextLength = 64): CausalLM =>
    ({
      entry: { id: 'fake', task: 'text-generation', contextLength, vocabSize: 300, numLayers: 1, numKeyValueHeads: 1, headDim: 2, eosTokenId: 2, padTokenId: 0, bosTokenId: 1 },
      shape: { numLayers: 1, heads: 1, headDim: 2 },
      vocabSize: 300,
      forward: () => Promise.reject(new Error('not in this test')),
    }) as unknown as CausalLM;

  const req = (roomId: string, prompt: string, extra: Partial<SequenceRequest> = {}): SequenceRequest => ({
    promptIds: bytes(prompt),
    roomId,
    maxTokens: 8,
    sampling: greedy,
    seed: 1,
    stop: [],
    ...extra,
  });

  it('the plan admits fairly across rooms within maxBatch and the per-room cap, and groups prefill by the token budget', () => {
    const s = new Scheduler(fakeLm(), tok, { maxBatch: 3, maxQueue: 10, autoRun: false, prefillTokenBudget: 12 });
    const a1 = s.add(req('a', 'aaaa'));
    const a2 = s.add(req('a', 'aaaaaa'));
    const a3 = s.add(req('a', 'a'));
    const b1 = s.add(req('b', 'bb'));
    expect(s.waiting).toBe(4);
    const plan = s.schedule();
    // maxPerRoom = 2: a1, then b1 (room b served least recently), then a2; a3 waits.
    expect(plan.admitted.map((x) => x.id)).toEqual([a1.id, b1.id, a2.id]);
    expect(plan.admitted.every((x) => x.state === 'running' && x.admittedAtStep === 0)).toBe(true);
    // Longest first; 2 rows × 6 tokens fit in 12, a third row would not.
    expect(plan.prefill.map((g) => g.map((x) => x.id))).toEqual([[a2.id, a1.id], [b1.id]]);
    expect(plan.decode.map((x) => x.id)).toEqual([a1.id, b1.id, a2.id]);
    expect(s.running).toBe(3);
    expect(s.waiting).toBe(1);
    expect(a3.state).toBe('waiting');
    // No free slot: the next plan admits nothing and decodes the running rows in batch order.
    const next = s.schedule();
    expect(next.admitted).toEqual([]);
    expect(next.decode.map((x) => x.id)).toEqual([a1.id, b1.id, a2.id]);
  });

  it('queue full → busy, in the one admission place', () => {
    const s = new Scheduler(fakeLm(), tok, { maxBatch: 1, maxQueue: 1, autoRun: false });
    s.add(req('a', 'x'));
    expect(() => s.add(req('b', 'y'))).toThrowError(expect.objectContaining({ code: 'busy' }));
    expect(() => s.add(req('b', ''))).toThrowError(expect.objectContaining({ code: 'busy' })); // busy is checked first
  });

  it('updateFromOutput applies sampled tokens: text through the output, stop strings, EOS, length, aborts', async () => {
    const s = new Scheduler(fakeLm(), tok, { maxBatch: 4, maxQueue: 10, autoRun: false });
    const results = new Map<string, GenerationResult>();
    const texts = new Map<string, string>();
    const mk = (name: string, extra: Partial<SequenceRequest>) =>
      s.add(req(name, 'Once', { onFinish: (r) => results.set(name, r), onText: (t) => texts.set(name, (texts.get(name) ?? '') + t), ...extra }));
    mk('stop', { stop: ['.'] });
    mk('eos', {});
    mk('len', { maxTokens: 2 });
    const ab = mk('aborted', {});
    const plan = s.schedule();
    const [stop, eos, len, aborted] = plan.admitted;
    const feed = (text: string) => bytes(text);
    s.abort(ab.id);
    expect(results.get('aborted')).toEqual({ text: '', finishReason: 'aborted', tokens: 0 });
    for (let i = 0; i < 3; i++) {
      s.updateFromOutput({
        sampled: [
          { seq: stop!, token: feed('a.b')[i]! },
          { seq: eos!, token: i < 2 ? feed('ok')[i]! : 2 },
          { seq: len!, token: feed('xyz')[i]! },
          { seq: aborted!, token: feed('zzz')[i]! }, // finished: ignored
        ],
      });
    }
    expect(results.get('stop')).toEqual({ text: 'a', finishReason: 'stop', tokens: 2 });
    expect(results.get('eos')).toEqual({ text: 'ok', finishReason: 'stop', tokens: 2 });
    expect(results.get('len')).toEqual({ text: 'xy', finishReason: 'length', tokens: 2 });
    expect(texts.get('stop')).toBe('a');
    expect(texts.get('aborted')).toBeUndefined();
    expect(s.running).toBe(0);
    expect(s.hasWork()).toBe(false);
    await s.close();
  });

  it('a failed pass fails its rows with the runner\'s error', () => {
    const s = new Scheduler(fakeLm(), tok, { maxBatch: 2, maxQueue: 10, autoRun: false });
    const errors: InferenceError[] = [];
    s.add(req('a', 'x', { onError: (e) => errors.push(e) }));
    const plan = s.schedule();
    s.updateFromOutput({ sampled: [], failed: { rows: plan.admitted, error: new InferenceError('internal', 'prefill failed: boom') } });
    expect(errors.map((e) => e.message)).toEqual(['prefill failed: boom']);
    expect(s.running).toBe(0);
  });

  it('a deadline (absolute ms) fails a queued request with "deadline" and ends a running one with finishReason "deadline"', async () => {
    const s = new Scheduler(fakeLm(), tok, { maxBatch: 1, maxQueue: 10, autoRun: false });
    let running: GenerationResult | undefined;
    let queued: InferenceError | undefined;
    s.add(req('a', 'x', { deadlineAt: Date.now() + 5, onFinish: (r) => (running = r) }));
    s.add(req('b', 'y', { deadlineAt: Date.now() + 5, onError: (e) => (queued = e) }));
    s.schedule(); // admits the first only (maxBatch 1)
    await new Promise((r) => setTimeout(r, 30));
    expect(running?.finishReason).toBe('deadline');
    expect(queued?.code).toBe('deadline');
    expect(queued?.message).toMatch(/queue/);
  });
});

describe('one stream per generation: startGeneration feeds any sink straight from the scheduler output', () => {
  it('a plain sink (what the worker thread posts to its port) gets the same chunks and result as generate()', async () => {
    const { InferenceEngine } = await import('../../server/src/inference/engine');
    const { MODELS_DIR } = await import('./helpers');
    const engine = await InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'cpu', logger: { info() {}, warn() {} } });
    try {
      const req = { prompt: 'Once upon a time', roomId: 'r', maxTokens: 12, seed: 4, temperature: 0.9 };
      const viaStream = engine.generate(req);
      const streamed: string[] = [];
      for await (const c of viaStream) streamed.push(c.text);
      const spec = prepareGenerate(req, engine.models().filter((m) => m.task === 'text-generation').map((m) => m.id));
      const chunks: string[] = [];
      const result = await new Promise<GenerationResult>((resolve, reject) => {
        engine.startGeneration(spec, { push: (c) => chunks.push(c.text), finish: resolve, fail: reject });
      });
      expect(chunks).toEqual(streamed);
      expect(result).toEqual(await viaStream.result);
      // Aborting through the returned handle ends it with 'aborted'.
      const aborted = await new Promise<GenerationResult>((resolve, reject) => {
        const stop = engine.startGeneration({ ...spec, maxTokens: 200, ignoreEos: true }, { push: () => stop(), finish: resolve, fail: reject });
      });
      expect(aborted.finishReason).toBe('aborted');
    } finally {
      await engine.close();
    }
  });
});

describe("the batch runner's kv strategies", () => {
  it("'per-step' and 'repack-on-change' give the same tokens, batched or alone", async () => {
    const { InferenceEngine } = await import('../../server/src/inference/engine');
    const { MODELS_DIR } = await import('./helpers');
    const prompts = ['Once upon a time', 'The little fox looked at the moon and said', 'Tom'];
    const texts: Record<string, string[]> = {};
    for (const kvStrategy of ['repack-on-change', 'per-step'] as const) {
      const engine = await InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'cpu', maxBatch: 4, kvStrategy, logger: { info() {}, warn() {} } });
      try {
        const gen = (p: string, i: number, maxTokens = 16) => engine.generate({ prompt: p, roomId: `r${i}`, maxTokens, seed: i, temperature: 0.9, ignoreEos: true }).result;
        const alone: string[] = [];
        for (const [i, p] of prompts.entries()) alone.push((await gen(p, i)).text);
        // Different lengths so rows leave at different steps (zombies, re-packs) while others join.
        const batched = await Promise.all(prompts.map((p, i) => gen(p, i, 16)));
        const late = await Promise.all([gen(prompts[0]!, 0, 6), gen(prompts[1]!, 1, 16), gen(prompts[2]!, 2, 10)]);
        expect(batched.map((r) => r.text)).toEqual(alone);
        expect(late[1]!.text).toBe(alone[1]);
        expect(alone[0]!.startsWith(late[0]!.text)).toBe(true);
        texts[kvStrategy] = alone;
      } finally {
        await engine.close();
      }
    }
    expect(texts['per-step']).toEqual(texts['repack-on-change']);
  });
});
