// Text generation through the engine and its scheduler, against the committed models.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from '../../server/src/inference/metrics';
import { InferenceEngine } from '../../server/src/inference/engine';
import { InferenceError } from '../../server/src/inference/errors';
import type { CausalLM } from '../../server/src/inference/causal-lm';
import type { SequenceRequest } from '../../server/src/inference/scheduler';
import { firstStop } from '../../server/src/inference/output';
import type { GenerationResult } from '../../server/src/inference/stream';
import { argmax } from '../../server/src/inference/sampling';
import { MODELS_DIR, firstId, forwardFromScratch } from './helpers';

const quiet = { info: () => {}, warn: () => {} };
const greedy = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 };
const PROMPTS = [
  'Once upon a time',
  'The little fox looked at the moon and said',
  'Tom',
  'In a small village by the sea there lived an old fisherman who every morning',
];

let engine: InferenceEngine;
let registry: Registry;
beforeAll(async () => {
  registry = new Registry();
  engine = await InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'cpu', maxBatch: 8, maxQueue: 64, logger: quiet, metrics: registry });
});
afterAll(async () => engine?.close());

/** Runs a request through the scheduler directly; resolves with the result and generated ids. */
function run(
  engineRef: InferenceEngine,
  prompt: string,
  opts: Partial<SequenceRequest> = {},
): { ids: () => readonly number[]; done: Promise<GenerationResult>; id: number } {
  const sched = engineRef.scheduler();
  const tok = engineRef.tokenizer();
  let resolve!: (r: GenerationResult) => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<GenerationResult>((a, b) => ((resolve = a), (reject = b)));
  const h = sched.add({
    promptIds: tok.encode(prompt),
    roomId: 'room',
    maxTokens: 24,
    sampling: greedy,
    seed: 1,
    stop: [],
    onFinish: resolve,
    onError: reject,
    ...opts,
  });
  return { ids: () => h.generatedIds, done, id: h.id };
}

async function fullRecomputeGreedy(lm: CausalLM, prompt: number[], n: number, eos: number[]): Promise<number[]> {
  const ids = [...prompt];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const T = ids.length;
    const r = await forwardFromScratch(lm, ids);
    const V = lm.vocabSize;
    const row = r.logits.slice((T - 1) * V, T * V);
    // The runtime never samples padding or BOS (unless it is also EOS); mirror that.
    for (const t of [lm.entry.padTokenId, lm.entry.bosTokenId]) if (t !== undefined && !eos.includes(t)) row[t] = -Infinity;
    const next = argmax(row);
    if (eos.includes(next)) break;
    out.push(next);
    ids.push(next);
  }
  return out;
}

describe('text generation', () => {
  it('streams text deltas and a result', async () => {
    const s = engine.generate({ prompt: PROMPTS[0]!, roomId: 'a', maxTokens: 16, seed: 3 });
    let text = '';
    let chunks = 0;
    for await (const c of s) {
      expect(c.text.length).toBeGreaterThan(0);
      expect(Number.isInteger(c.tokenId)).toBe(true);
      text += c.text;
      chunks++;
    }
    const r = await s.result;
    expect(r.text).toBe(text);
    expect(['stop', 'length']).toContain(r.finishReason);
    expect(r.tokens).toBeGreaterThan(0);
    expect(r.tokens).toBeLessThanOrEqual(16);
    if (r.finishReason === 'length') expect(r.tokens).toBe(16);
    expect(chunks).toBeGreaterThan(0);
  });

  it('KV-cache greedy decoding produces exactly the tokens of full recomputation', async () => {
    // @ts-expect-error reach the CausalLM inside the scheduler for the reference computation
    const lm: CausalLM = engine.scheduler().lm;
    const tok = engine.tokenizer();
    const entry = lm.entry;
    const eos = Array.isArray(entry.eosTokenId) ? entry.eosTokenId : [entry.eosTokenId];
    for (const prompt of PROMPTS.slice(0, 2)) {
      const r = run(engine, prompt, { maxTokens: 20 });
      await r.done;
      const ref = await fullRecomputeGreedy(lm, tok.encode(prompt), 20, eos);
      expect([...r.ids()]).toEqual(ref);
    }
  });

  it('batched decoding of prompts of different lengths equals decoding each alone (greedy and sampled)', async () => {
    for (const sampling of [greedy, { temperature: 0.9, topK: 40, topP: 0.95, repetitionPenalty: 1.1 }]) {
      const alone: number[][] = [];
      for (let i = 0; i < PROMPTS.length; i++) {
        const r = run(engine, PROMPTS[i]!, { sampling, seed: 100 + i });
        await r.done;
        alone.push([...r.ids()]);
      }
      // All at once, plus two joining while the others are mid-flight (exercises KV re-packing).
      const batch = PROMPTS.map((p, i) => run(engine, p, { sampling, seed: 100 + i }));
      await new Promise((res) => setTimeout(res, 15));
      const late = [run(engine, PROMPTS[3]!, { sampling, seed: 103 }), run(engine, PROMPTS[0]!, { sampling, seed: 100 })];
      await Promise.all([...batch, ...late].map((r) => r.done));
      batch.forEach((r, i) => expect([...r.ids()], `prompt ${i}`).toEqual(alone[i]));
      expect([...late[0]!.ids()]).toEqual(alone[3]);
      expect([...late[1]!.ids()]).toEqual(alone[0]);
    }
  });

  it('the batch really is shared: concurrent requests run in fewer steps than one after another', async () => {
    const sched = engine.scheduler();
    const before = sched.steps;
    await Promise.all(PROMPTS.map((p, i) => run(engine, p, { maxTokens: 12, seed: i, sampling: { ...greedy, temperature: 0.7 } }).done));
    expect(sched.steps - before).toBeLessThanOrEqual(13);
  });

  it('same seed → same text; different seeds → different text', async () => {
    const gen = (seed: number) => engine.generate({ prompt: PROMPTS[1]!, roomId: 'a', maxTokens: 24, seed, temperature: 1 }).result;
    const a = await gen(11);
    const b = await gen(11);
    expect(b.text).toBe(a.text);
    const others = await Promise.all([12, 13, 14].map(gen));
    expect(others.some((o) => o.text !== a.text)).toBe(true);
  });

  it('minTokens: no end-of-sequence before that many tokens', async () => {
    // A finished story invites the model to end at once.
    const prompt = 'Lily smiled and hugged her mom. They were happy. The end.';
    const run = (seed: number, minTokens?: number) =>
      engine.generate({ prompt, roomId: 'min', maxTokens: 24, seed, temperature: 1, ...(minTokens ? { minTokens } : {}) }).result;
    const seeds = Array.from({ length: 24 }, (_, i) => i + 1);
    const free = await Promise.all(seeds.map((seed) => run(seed)));
    expect(free.some((r) => r.finishReason === 'stop' && r.tokens < 6)).toBe(true); // the case minTokens exists for
    const held = await Promise.all(seeds.map((seed) => run(seed, 6)));
    for (const r of held) expect(r.tokens).toBeGreaterThanOrEqual(6);
  });

  it('a stop sequence in the whitespace before the first visible character does not count', () => {
    // A paragraph-ending prompt makes the model open with "\n\n": that must not end the output empty.
    expect(firstStop('', '\n\nThe end', ['\n\n'])).toBe(-1);
    expect(firstStop('', '\n\n', ['\n\n'])).toBe(-1);
    expect(firstStop('', ' \n\nA\n\nB', ['\n\n'])).toBe(4);
    expect(firstStop('Once', '\n\n', ['\n\n'])).toBe(0);
    expect(firstStop('', 'abc. The', ['xyz', '. T'])).toBe(3);
  });

  it('stop sequences end the text before the stop string', async () => {
    const full = await engine.generate({ prompt: PROMPTS[0]!, roomId: 'a', maxTokens: 32, temperature: 0, repetitionPenalty: 1 }).result;
    const stop = full.text.slice(Math.floor(full.text.length / 2), Math.floor(full.text.length / 2) + 3);
    expect(stop.length).toBe(3);
    const cut = await engine.generate({ prompt: PROMPTS[0]!, roomId: 'a', maxTokens: 32, temperature: 0, repetitionPenalty: 1, stop: [stop] }).result;
    expect(cut.finishReason).toBe('stop');
    expect(cut.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
  });

  it('rejects an unknown model and an empty prompt', () => {
    expect(() => engine.generate({ prompt: 'hi', roomId: 'a', model: 'nope' })).toThrowError(
      expect.objectContaining({ code: 'unknown_model' }),
    );
    for (const prompt of ['', '   \n']) {
      expect(() => engine.generate({ prompt, roomId: 'a' })).toThrowError(expect.objectContaining({ code: 'empty_prompt' }));
    }
  });

  it('truncates an over-long prompt from the left to contextLength - maxTokens (keeping BOS)', async () => {
    const sched = engine.scheduler();
    const tok = engine.tokenizer();
    const ctx = sched.contextLength;
    const long = Array.from({ length: ctx * 2 }, (_, i) => `word${i}`).join(' ');
    const ids = tok.encode(long);
    expect(ids.length).toBeGreaterThan(ctx);
    const maxTokens = 8;
    let res!: (r: GenerationResult) => void;
    const done = new Promise<GenerationResult>((r) => (res = r));
    const h = sched.add({ promptIds: ids, roomId: 'a', maxTokens, sampling: greedy, seed: 1, stop: [], onFinish: res });
    expect(h.truncated).toBe(true);
    expect(h.promptIds.length).toBe(ctx - maxTokens);
    expect(h.promptIds.slice(-20)).toEqual(ids.slice(-20));
    // @ts-expect-error entry of the scheduler's model
    const bos: number | undefined = sched.lm.entry.bosTokenId;
    if (bos !== undefined && ids[0] === bos) expect(h.promptIds[0]).toBe(bos);
    const r = await done;
    expect(r.tokens).toBeLessThanOrEqual(maxTokens);
    expect(h.promptIds.length + r.tokens).toBeLessThanOrEqual(ctx);
  });

  it('a failing forward pass fails its requests with "internal" and the loop carries on', async () => {
    // @ts-expect-error the scheduler's model
    const lm: CausalLM = engine.scheduler().lm;
    const orig = lm.forward.bind(lm);
    let calls = 0;
    lm.forward = async (...a: Parameters<CausalLM['forward']>) => {
      if (calls++ === 1) throw new Error('simulated ORT failure');
      return orig(...a);
    };
    try {
      const s = engine.generate({ prompt: PROMPTS[0]!, roomId: 'err', maxTokens: 8, seed: 1 });
      await expect(s.result).rejects.toMatchObject({ code: 'internal', message: expect.stringMatching(/simulated ORT failure/) });
    } finally {
      lm.forward = orig;
    }
    expect((await engine.generate({ prompt: PROMPTS[0]!, roomId: 'err', maxTokens: 4, seed: 1 }).result).tokens).toBeGreaterThan(0);
  });

  it('records metrics on the given registry', async () => {
    await engine.generate({ prompt: 'Hello', roomId: 'm', maxTokens: 4, seed: 1 }).result;
    const text = await registry.metrics();
    for (const name of [
      'ensemble_inference_queue_depth',
      'ensemble_inference_batch_size_bucket',
      'ensemble_inference_generated_tokens_total',
      'ensemble_inference_time_to_first_token_seconds_bucket',
      'ensemble_inference_request_duration_seconds_bucket{le="0.005",task="text-generation"',
    ]) {
      expect(text).toContain(name);
    }
  });
});

describe('scheduling: cancellation, deadlines, queue, fairness', () => {
  let small: InferenceEngine;
  beforeAll(async () => {
    small = await InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'cpu', maxBatch: 1, maxQueue: 3, logger: quiet });
  });
  afterAll(async () => small?.close());

  it('cancelling mid-stream frees the slot: the queued request is admitted at the next step', async () => {
    const sched = small.scheduler();
    const ac = new AbortController();
    const a = small.generate({ prompt: PROMPTS[0]!, roomId: 'x', maxTokens: 200, seed: 1, ignoreEos: true, signal: ac.signal });
    let resB!: (r: GenerationResult) => void;
    const bDone = new Promise<GenerationResult>((r) => (resB = r));
    const b = sched.add({ promptIds: small.tokenizer().encode(PROMPTS[1]!), roomId: 'y', maxTokens: 4, sampling: greedy, seed: 1, stop: [], onFinish: resB });
    expect(b.state).toBe('waiting');
    let n = 0;
    let abortedAt = -1;
    for await (const _ of a) {
      if (++n === 3) {
        abortedAt = sched.steps;
        ac.abort();
      }
    }
    const ra = await a.result;
    expect(ra.finishReason).toBe('aborted');
    expect(ra.tokens).toBeLessThan(200);
    await bDone;
    expect(b.admittedAtStep).toBeDefined();
    expect(b.admittedAtStep! - abortedAt).toBeLessThanOrEqual(1);
  });

  it('stream.abort() and breaking out of the loop both cancel', async () => {
    const s = small.generate({ prompt: PROMPTS[0]!, roomId: 'x', maxTokens: 200, seed: 1, ignoreEos: true });
    for await (const _ of s) break;
    expect((await s.result).finishReason).toBe('aborted');
    const t = small.generate({ prompt: PROMPTS[0]!, roomId: 'x', maxTokens: 200, seed: 1, ignoreEos: true });
    t.abort();
    expect((await t.result).finishReason).toBe('aborted');
  });

  it('an already-aborted signal is refused', () => {
    const ac = new AbortController();
    ac.abort();
    expect(() => small.generate({ prompt: 'hi', roomId: 'x', signal: ac.signal })).toThrowError(expect.objectContaining({ code: 'aborted' }));
  });

  it('deadline: a queued request fails with code "deadline"; a running one ends with finishReason "deadline"', async () => {
    // `a` holds the only slot; `b` waits behind it and expires in the queue.
    const a = small.generate({ prompt: PROMPTS[0]!, roomId: 'dl-a', maxTokens: 250, seed: 1, ignoreEos: true });
    await a[Symbol.asyncIterator]().next();
    const b = small.generate({ prompt: PROMPTS[1]!, roomId: 'dl-b', maxTokens: 4, seed: 1, deadlineMs: 1 });
    await expect(b.result).rejects.toSatisfy((e: unknown) => e instanceof InferenceError && e.code === 'deadline' && /queue/.test(e.message));
    a.abort();
    await a.result;
    // A running request is cut off at its deadline and keeps its partial text.
    const t0 = Date.now();
    const c = await small.generate({ prompt: PROMPTS[0]!, roomId: 'dl-a', maxTokens: 255, seed: 1, deadlineMs: 150, ignoreEos: true }).result;
    expect(c.finishReason).toBe('deadline');
    expect(c.tokens).toBeLessThan(255);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('queue full → busy', async () => {
    const first = small.generate({ prompt: PROMPTS[0]!, roomId: 'x', maxTokens: 100, seed: 1, ignoreEos: true });
    const it = first[Symbol.asyncIterator]();
    await it.next(); // running now
    const streams = [first];
    for (let i = 0; i < 3; i++) streams.push(small.generate({ prompt: PROMPTS[1]!, roomId: 'x', maxTokens: 2, seed: 1 }));
    expect(small.scheduler().waiting).toBe(3);
    let err: unknown;
    try {
      small.generate({ prompt: 'one more', roomId: 'x' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InferenceError);
    expect((err as InferenceError).code).toBe('busy');
    expect((err as Error).message).toMatch(/busy/);
    first.abort();
    await Promise.all(streams.map((s) => s.result));
  });

  it('one room cannot hold every slot: with maxBatch 2 a busy room runs one, the other slot serves another room', async () => {
    const two = await InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'cpu', maxBatch: 2, maxQueue: 8, logger: quiet });
    try {
      const sched = two.scheduler();
      const busy = [0, 1, 2].map((i) => two.generate({ prompt: PROMPTS[0]!, roomId: 'busy', maxTokens: 120, seed: i, ignoreEos: true }));
      await busy[0]![Symbol.asyncIterator]().next();
      expect(sched.running).toBe(1);
      expect(sched.waiting).toBe(2);
      const before = sched.steps;
      const quiet1 = two.generate({ prompt: PROMPTS[1]!, roomId: 'quiet', maxTokens: 120, seed: 9, ignoreEos: true });
      await quiet1[Symbol.asyncIterator]().next();
      expect(sched.steps - before).toBeLessThanOrEqual(2);
      expect(sched.waiting).toBe(2); // busy2, busy3 still queued
      for (const s of [...busy, quiet1]) s.abort();
      await Promise.all([...busy, quiet1].map((s) => s.result));
    } finally {
      await two.close();
    }
  });

  it("per-room fairness: a busy room's queue does not hold back another room's single request", async () => {
    const order: string[] = [];
    const start = (room: string, i: number) => {
      const s = small.generate({ prompt: PROMPTS[0]!, roomId: room, maxTokens: 4, seed: i, stop: [] });
      return { s, done: s.result.then(() => order.push(`${room}${i}`)) };
    };
    const b1 = start('busy', 1);
    await b1.s[Symbol.asyncIterator]().next(); // busy1 holds the only slot
    const jobs = [b1.done, start('busy', 2).done, start('busy', 3).done, start('quiet', 1).done];
    await Promise.all(jobs);
    // FIFO would give busy1, busy2, busy3, quiet1; round-robin across rooms admits quiet1 next.
    expect(order).toEqual(['busy1', 'quiet1', 'busy2', 'busy3']);
  });
});
