// Hugging Face folders served unchanged: the committed random-weight fixtures (models/fixtures/hf,
// built by models/recipes/build_hf_fixtures.py) against their PyTorch references, alone, in a
// batch with prompts of other lengths, and with the KV cache vs full recompute. With
// ENSEMBLE_TEST_TEXT_MODEL=/path/to/folder the same checks (minus the PyTorch reference) run on a
// real model; otherwise that block is reported as skipped.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CausalLM } from '../../server/src/inference/causal-lm';
import { InferenceEngine } from '../../server/src/inference/engine';
import { ManifestError } from '../../server/src/inference/errors';
import { openSession, readManifest, verifyGraph, type TextGenerationEntry } from '../../server/src/inference/manifest';
import { argmax } from '../../server/src/inference/sampling';
import type { SequenceRequest } from '../../server/src/inference/scheduler';
import { MODELS_DIR, forwardFromScratch } from './helpers';

const FIXTURES = path.join(MODELS_DIR, 'fixtures', 'hf');
const NAMES = fs.readdirSync(FIXTURES).filter((n) => fs.existsSync(path.join(FIXTURES, n, 'reference.json'))).sort();
const quiet = { info: () => {}, warn: () => {} };
const greedy = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 };

interface Reference {
  new_tokens: number;
  cases: Array<{ prompt_ids: number[]; greedy: number[] }>;
  last_logits: { prompt_ids: number[]; logits: number[] };
}

/** Greedy ids for each prompt, all submitted at once (so they are admitted and prefilled together). */
async function generateTogether(engine: InferenceEngine, prompts: number[][], maxTokens: number): Promise<number[][]> {
  const sched = engine.scheduler();
  const runs = prompts.map(
    (promptIds, i) =>
      new Promise<number[]>((resolve, reject) => {
        const ids: number[] = [];
        const req: SequenceRequest = {
          promptIds,
          roomId: `room-${i}`,
          maxTokens,
          sampling: greedy,
          seed: 0,
          stop: [],
          ignoreEos: true,
          onToken: (t) => ids.push(t),
          onFinish: () => resolve(ids),
          onError: reject,
        };
        sched.add(req);
      }),
  );
  return Promise.all(runs);
}

/** Greedy ids by full recompute each step (no KV cache), through the same ONNX graph. */
async function greedyRecompute(lm: CausalLM, prompt: number[], n: number): Promise<number[]> {
  const seq = [...prompt];
  for (let i = 0; i < n; i++) {
    const out = await forwardFromScratch(lm, seq);
    const V = lm.vocabSize;
    seq.push(argmax(out.logits.subarray((out.logitsSeq - 1) * V, out.logitsSeq * V)));
  }
  return seq.slice(prompt.length);
}

async function openLM(folder: string): Promise<{ lm: CausalLM; release: () => Promise<void> }> {
  const manifest = readManifest(MODELS_DIR, { textModel: folder });
  const entry = manifest.models[0] as TextGenerationEntry;
  const session = await openSession(manifest, entry);
  verifyGraph(manifest, entry, session);
  return { lm: new CausalLM(session, entry), release: () => session.release() };
}

/** Every check one folder must pass; `ref` (the PyTorch reference) is absent for a real model. */
function folderSuite(folder: string, ref: Reference | undefined, prompts: number[][], newTokens: number): void {
  let engine: InferenceEngine;
  let opened: Awaited<ReturnType<typeof openLM>>;
  const warnings: string[] = [];
  beforeAll(async () => {
    const logger = { info: () => {}, warn: (_o: object, msg?: string) => void warnings.push(msg ?? '') };
    engine = await InferenceEngine.load({ modelsDir: MODELS_DIR, textModel: folder, device: 'cpu', maxBatch: 8, logger });
    opened = await openLM(folder);
  });
  afterAll(async () => {
    await engine?.close();
    await opened?.release();
  });

  it('loads from the folder alone: the text model is the folder, numbers from config.json', () => {
    const info = engine.models().find((m) => m.task === 'text-generation')!;
    const cfg = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8'));
    expect(info.id).toBe(path.basename(folder));
    expect(info.vocabSize).toBe(cfg.vocab_size);
    expect(engine.models().filter((m) => m.task === 'text-generation')).toHaveLength(1);
  });

  it('greedy tokens alone (one request at a time) equal the reference', async () => {
    const alone: number[][] = [];
    for (const p of prompts) alone.push((await generateTogether(engine, [p], newTokens))[0]!);
    if (ref) expect(alone).toEqual(ref.cases.map((c) => c.greedy));
    else expect(alone).toEqual(await Promise.all(prompts.map((p) => greedyRecompute(opened.lm, p, newTokens))));
  });

  it('greedy tokens in one batch with prompts of other lengths equal the reference', async () => {
    const together = await generateTogether(engine, prompts, newTokens);
    const want = ref ? ref.cases.map((c) => c.greedy) : await Promise.all(prompts.map((p) => greedyRecompute(opened.lm, p, newTokens)));
    expect(together).toEqual(want);
  });

  it('KV cache and full recompute agree (and match the reference)', async () => {
    for (const [i, p] of prompts.entries()) {
      const recompute = await greedyRecompute(opened.lm, p, newTokens);
      const cached = (await generateTogether(engine, [p], newTokens))[0]!;
      expect(cached).toEqual(recompute);
      if (ref) expect(recompute).toEqual(ref.cases[i]!.greedy);
    }
  });

  if (ref) {
    it('last-position logits are within 1e-3 of PyTorch', async () => {
      const out = await forwardFromScratch(opened.lm, ref.last_logits.prompt_ids);
      const V = opened.lm.vocabSize;
      const last = out.logits.subarray((out.logitsSeq - 1) * V, out.logitsSeq * V);
      expect(last.length).toBe(ref.last_logits.logits.length);
      let worst = 0;
      ref.last_logits.logits.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - last[j]!))));
      expect(worst).toBeLessThan(1e-3);
    });
  }

  it('says at load when it batches less (a graph without position_ids), and only then', () => {
    const limited = warnings.some((w) => w.includes('batching only equal-length prompts'));
    expect(limited).toBe(opened.lm.positionsFromPast);
  });
}

describe.each(NAMES)('HF fixture %s', (name) => {
  const folder = path.join(FIXTURES, name);
  const ref = JSON.parse(fs.readFileSync(path.join(folder, 'reference.json'), 'utf8')) as Reference;
  folderSuite(folder, ref, ref.cases.map((c) => c.prompt_ids), ref.new_tokens);
});

const realModel = process.env.ENSEMBLE_TEST_TEXT_MODEL;
describe.skipIf(!realModel)('real model folder from ENSEMBLE_TEST_TEXT_MODEL', () => {
  const folder = path.resolve(realModel ?? '.');
  const tokenizerFile = path.join(folder, 'tokenizer.json');
  const prompts: number[][] = [];
  if (realModel && fs.existsSync(tokenizerFile)) {
    const vocab = (JSON.parse(fs.readFileSync(tokenizerFile, 'utf8')) as { model: { vocab: Record<string, number> | unknown[] } }).model.vocab;
    const size = Array.isArray(vocab) ? vocab.length : Object.keys(vocab).length;
    // Ordinary-token prompts of different lengths, spread across the vocabulary (deterministic).
    for (const n of [4, 9, 17]) prompts.push(Array.from({ length: n }, (_, j) => 1000 + ((j * 7919 + n * 104729) % Math.max(1, size - 2000))));
  }
  folderSuite(folder, undefined, prompts, 8);
});

describe('folder loading: errors name the file', () => {
  let tmp: string;
  beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-hf-'))));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const copy = (name: string, as: string): string => {
    const dst = path.join(tmp, as);
    fs.cpSync(path.join(FIXTURES, name), dst, { recursive: true });
    return dst;
  };

  it('a folder without config.json is a ManifestError naming config.json', async () => {
    const dir = copy('qwen2-gqa', 'no-config');
    fs.rmSync(path.join(dir, 'config.json'));
    expect(() => readManifest(MODELS_DIR, { textModel: dir })).toThrow(ManifestError);
    expect(() => readManifest(MODELS_DIR, { textModel: dir })).toThrow(path.join(dir, 'config.json'));
    await expect(InferenceEngine.load({ modelsDir: MODELS_DIR, textModel: dir, device: 'cpu', logger: quiet })).rejects.toThrow(/config\.json is missing/);
  });

  it('a graph input the runtime cannot feed is a ManifestError naming the ONNX file and the input', async () => {
    const dir = copy('gpt2-position-ids', 'unknown-input');
    const file = path.join(dir, 'onnx', 'model.onnx');
    // Same-length rename inside the protobuf: the graph stays valid, its input is now unknown.
    const bytes = fs.readFileSync(file);
    const from = Buffer.from('position_ids');
    const to = Buffer.from('position_idz');
    let n = 0;
    for (let i = bytes.indexOf(from); i >= 0; i = bytes.indexOf(from, i + 1), n++) to.copy(bytes, i);
    expect(n).toBeGreaterThan(1);
    fs.writeFileSync(file, bytes);
    const err = await InferenceEngine.load({ modelsDir: MODELS_DIR, textModel: dir, device: 'cpu', logger: quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as ManifestError).message).toContain(file);
    expect((err as ManifestError).message).toContain('cannot feed: position_idz');
  });

  it('a dtype whose file is absent is a startup error naming the file it looked for and what is there', () => {
    const dir = copy('qwen2-gqa', 'only-fp32');
    const err = (() => {
      try {
        readManifest(MODELS_DIR, { textModel: dir, textDtype: 'q4f16' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as ManifestError).message).toContain('onnx/model_q4f16.onnx');
    expect((err as ManifestError).message).toContain('found: onnx/model.onnx');
  });

  it('dtypes pick the transformers.js file names (fp16, q8 → model_quantized / model_int8, q4 → model_bnb4)', () => {
    const dir = copy('qwen2-gqa', 'variants');
    const onnxDir = path.join(dir, 'onnx');
    for (const f of ['model_fp16.onnx', 'model_int8.onnx', 'model_bnb4.onnx']) fs.copyFileSync(path.join(onnxDir, 'model.onnx'), path.join(onnxDir, f));
    const file = (dtype: 'fp32' | 'fp16' | 'q8' | 'q4') => (readManifest(MODELS_DIR, { textModel: dir, textDtype: dtype }).models[0] as TextGenerationEntry).files.model;
    expect([file('fp32'), file('fp16'), file('q8'), file('q4')]).toEqual(['onnx/model.onnx', 'onnx/model_fp16.onnx', 'onnx/model_int8.onnx', 'onnx/model_bnb4.onnx']);
    fs.copyFileSync(path.join(onnxDir, 'model.onnx'), path.join(onnxDir, 'model_quantized.onnx'));
    expect(file('q8')).toBe('onnx/model_quantized.onnx');
  });

  it('a manifest entry reduced to { id, task, folder } loads: numbers, ids and files come from the folder', async () => {
    const models = path.join(tmp, 'models');
    fs.mkdirSync(models);
    fs.cpSync(path.join(FIXTURES, 'qwen2-gqa'), path.join(models, 'tiny-qwen'), { recursive: true });
    fs.writeFileSync(path.join(models, 'manifest.json'), JSON.stringify({ version: 1, models: [{ id: 'tiny', task: 'text-generation', folder: 'tiny-qwen' }] }));
    const entry = readManifest(models).models[0] as TextGenerationEntry;
    expect(entry).toMatchObject({ id: 'tiny', numLayers: 2, numKeyValueHeads: 2, headDim: 16, contextLength: 128, eosTokenId: [2, 400], bosTokenId: 1, padTokenId: 0 });
    expect(entry.files).toMatchObject({ model: 'onnx/model.onnx', tokenizer: 'tokenizer.json', tokenizerConfig: 'tokenizer_config.json' });
    const engine = await InferenceEngine.load({ modelsDir: models, device: 'cpu', logger: quiet });
    try {
      const ref = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'qwen2-gqa', 'reference.json'), 'utf8')) as Reference;
      expect(await generateTogether(engine, [ref.cases[0]!.prompt_ids], ref.new_tokens)).toEqual([ref.cases[0]!.greedy]);
    } finally {
      await engine.close();
    }
  });

  it('a reduced entry with an unknown key or dtype is refused, naming the manifest', () => {
    const models = path.join(tmp, 'bad-models');
    fs.mkdirSync(models);
    fs.writeFileSync(path.join(models, 'manifest.json'), JSON.stringify({ version: 1, models: [{ id: 'tiny', task: 'text-generation', folder: 'x', dtype: 'int3' }] }));
    expect(() => readManifest(models)).toThrow(ManifestError);
    expect(() => readManifest(models)).toThrow(path.join(models, 'manifest.json'));
  });
});

describe('why a graph without position_ids is not batched with left padding', () => {
  it('a left-padded prefill row on gpt2-no-position-ids gives other logits than the same row alone', async () => {
    const { lm, release } = await openLM(path.join(FIXTURES, 'gpt2-no-position-ids'));
    try {
      const ref = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'gpt2-no-position-ids', 'reference.json'), 'utf8')) as Reference;
      const short = ref.cases[0]!.prompt_ids;
      const T = short.length + 4;
      const ids = new BigInt64Array(T);
      const mask = new BigInt64Array(T);
      short.forEach((t, j) => ((ids[4 + j] = BigInt(t)), (mask[4 + j] = 1n)));
      const padded = await lm.forward({ rows: 1, seq: T, inputIds: ids, attentionMask: mask, positionIds: new BigInt64Array(T), past: { rows: 1, past: 0, data: Array.from({ length: 2 * lm.entry.numLayers }, () => new Float32Array(0)) } });
      const alone = await forwardFromScratch(lm, short);
      const V = lm.vocabSize;
      const a = alone.logits.subarray((short.length - 1) * V, short.length * V);
      const b = padded.logits.subarray((T - 1) * V, T * V);
      let diff = 0;
      for (let j = 0; j < V; j++) diff = Math.max(diff, Math.abs(a[j]! - b[j]!));
      expect(diff).toBeGreaterThan(1e-2); // the shifted positions change the output: the scheduler must not do this
    } finally {
      await release();
    }
  });
});
