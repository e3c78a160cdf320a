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
import { halfToFloat32 } from '../../server/src/inference/float16';
import { graphMentions, type TextDtype } from '../../server/src/inference/hf-folder';
import { modelFile, openSession, readManifest, verifyGraph, type TextGenerationEntry } from '../../server/src/inference/manifest';
import { argmax } from '../../server/src/inference/sampling';
import { Scheduler, type SequenceHandle, type SequenceRequest } from '../../server/src/inference/scheduler';
import { TextTokenizer } from '../../server/src/inference/tokenizer';
import { WorkerInferenceEngine } from '../../server/src/inference/worker-engine';
import { MODELS_DIR, forwardFromScratch } from './helpers';

const FIXTURES = path.join(MODELS_DIR, 'fixtures', 'hf');
// Decoder folders only: sentence-embedding fixtures (with modules.json) are hf-embed.test.ts's.
const NAMES = fs
  .readdirSync(FIXTURES)
  .filter((n) => fs.existsSync(path.join(FIXTURES, n, 'reference.json')) && !fs.existsSync(path.join(FIXTURES, n, 'modules.json')))
  .sort();
const quiet = { info: () => {}, warn: () => {} };
const greedy = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 };

interface Reference {
  layout: { fp16_io?: boolean; q4?: boolean };
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

/**
 * Greedy ids for prompts all queued before the first step (a scheduler driven by hand), with the
 * step each was admitted at: rows admitted at one step were prefilled together, left-padded.
 */
async function generateQueued(lm: CausalLM, prompts: number[][], maxTokens: number): Promise<{ ids: number[][]; admittedAt: number[] }> {
  const tokenizer = TextTokenizer.fromFiles(path.join(lm.entry.folder, 'tokenizer.json'));
  const sched = new Scheduler(lm, tokenizer, { maxBatch: 8, maxQueue: 64, autoRun: false });
  const ids = prompts.map((): number[] => []);
  const handles: SequenceHandle[] = prompts.map((promptIds, i) =>
    sched.add({ promptIds, roomId: `room-${i}`, maxTokens, sampling: greedy, seed: 0, stop: [], ignoreEos: true, onToken: (t) => ids[i]!.push(t) }),
  );
  while (sched.hasWork()) await sched.step();
  await sched.close();
  return { ids, admittedAt: handles.map((h) => h.admittedAtStep!) };
}

/** Largest last-position logit difference between `prompt` alone and the same prompt left-padded by 4 (positions 0 for the padding). */
async function leftPaddedDiff(lm: CausalLM, prompt: number[]): Promise<number> {
  const T = prompt.length + 4;
  const ids = new BigInt64Array(T);
  const mask = new BigInt64Array(T);
  prompt.forEach((t, j) => ((ids[4 + j] = BigInt(t)), (mask[4 + j] = 1n)));
  const padded = await lm.forward({ rows: 1, seq: T, inputIds: ids, attentionMask: mask, positionIds: new BigInt64Array(T), past: { rows: 1, past: 0, data: Array.from({ length: 2 * lm.entry.numLayers }, () => new Float32Array(0)) } });
  const alone = await forwardFromScratch(lm, prompt);
  const V = lm.vocabSize;
  const a = alone.logits.subarray((prompt.length - 1) * V, prompt.length * V);
  const b = padded.logits.subarray((T - 1) * V, T * V);
  let diff = 0;
  for (let j = 0; j < V; j++) diff = Math.max(diff, Math.abs(a[j]! - b[j]!));
  return diff;
}

async function openLM(folder: string, textDtype?: TextDtype): Promise<{ lm: CausalLM; release: () => Promise<void> }> {
  const manifest = readManifest(MODELS_DIR, { textModel: folder, textDtype });
  const entry = manifest.models[0] as TextGenerationEntry;
  const session = await openSession(manifest, entry);
  verifyGraph(manifest, entry, session);
  return { lm: new CausalLM(session, entry, modelFile(manifest, entry, 'model')), release: () => session.release() };
}

/** Every check one folder must pass; `ref` (the PyTorch reference) is absent for a real model. */
function folderSuite(folder: string, ref: Reference | undefined, prompts: number[][], newTokens: number, textDtype?: TextDtype): void {
  let engine: InferenceEngine;
  let opened: Awaited<ReturnType<typeof openLM>>;
  const warnings: string[] = [];
  beforeAll(async () => {
    const logger = { info: () => {}, warn: (_o: object, msg?: string) => void warnings.push(msg ?? '') };
    engine = await InferenceEngine.load({ modelsDir: MODELS_DIR, textModel: folder, textDtype, device: 'cpu', maxBatch: 8, logger });
    opened = await openLM(folder, textDtype);
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
    // The cache type comes from the graph: float16 for the fp16 fixture.
    expect(opened.lm.shape.kvType).toBe(ref?.layout.fp16_io ? 'float16' : ref ? 'float32' : opened.lm.shape.kvType);
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

  it('all prompts queued at once: prefilled together, left-padded, unless the graph cannot (then equal lengths only)', async () => {
    const { ids, admittedAt } = await generateQueued(opened.lm, prompts, newTokens);
    const want = ref ? ref.cases.map((c) => c.greedy) : await Promise.all(prompts.map((p) => greedyRecompute(opened.lm, p, newTokens)));
    expect(ids).toEqual(want);
    const distinctLengths = new Set(prompts.map((p) => p.length)).size;
    // Every prompt here has its own length: one admission step for all, or one step per prompt.
    expect(new Set(admittedAt).size).toBe(opened.lm.equalLengthOnly ? distinctLengths : 1);
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
    // float16 logits carry ~11 bits: within 1e-3 plus 1e-3 of the value there (float32: 1e-3 flat).
    it(`last-position logits are within ${ref.layout.fp16_io ? '1e-3 + 1e-3·|v|' : '1e-3'} of PyTorch`, async () => {
      const out = await forwardFromScratch(opened.lm, ref.last_logits.prompt_ids);
      const V = opened.lm.vocabSize;
      const last = out.logits.subarray((out.logitsSeq - 1) * V, out.logitsSeq * V);
      expect(last.length).toBe(ref.last_logits.logits.length);
      let worst = 0;
      const rel = ref.layout.fp16_io ? 1e-3 : 0;
      ref.last_logits.logits.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - last[j]!) - rel * Math.abs(v))));
      expect(worst).toBeLessThan(1e-3);
    });
  }

  it('says at load when it batches less (a graph without position_ids), and only then', () => {
    const limited = warnings.some((w) => w.includes('batching only equal-length prompts'));
    expect(limited).toBe(opened.lm.equalLengthOnly !== undefined);
  });
}

describe.each(NAMES)('HF fixture %s', (name) => {
  const folder = path.join(FIXTURES, name);
  const ref = JSON.parse(fs.readFileSync(path.join(folder, 'reference.json'), 'utf8')) as Reference;
  folderSuite(folder, ref, ref.cases.map((c) => c.prompt_ids), ref.new_tokens, ref.layout.fp16_io ? 'fp16' : ref.layout.q4 ? 'q4' : undefined);
});

const realModel = process.env.ENSEMBLE_TEST_TEXT_MODEL;
describe.skipIf(!realModel)('real model folder from ENSEMBLE_TEST_TEXT_MODEL', () => {
  const folder = path.resolve(realModel ?? '.');
  const prompts: number[][] = [];
  if (realModel) {
    const configFile = path.join(folder, 'tokenizer_config.json');
    const tok = TextTokenizer.fromFiles(path.join(folder, 'tokenizer.json'), fs.existsSync(configFile) ? configFile : undefined);
    // Real text of three different lengths (the tokenizer's own special tokens included).
    for (const text of ['The lighthouse', 'The lighthouse keeper climbed the stairs and', 'Every evening the lighthouse keeper climbed the hundred stairs, lit the lamp, and wrote one line in the logbook about']) {
      prompts.push(tok.encode(text));
    }
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

  it('config.json that disagrees with the graph (num_key_value_heads) is a ManifestError naming the ONNX file and tensor', async () => {
    const dir = copy('qwen2-gqa', 'wrong-kv-heads');
    const cfgFile = path.join(dir, 'config.json');
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, 'utf8')), num_key_value_heads: 4 }));
    const err = await InferenceEngine.load({ modelsDir: MODELS_DIR, textModel: dir, device: 'cpu', logger: quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as ManifestError).message).toContain(path.join(dir, 'onnx', 'model.onnx'));
    expect((err as ManifestError).message).toMatch(/past_key_values\.0\.key .*dim 1 is 2 but the manifest implies 4/);
  });

  it('config.json without a layer count is a ManifestError naming config.json and the keys it looked for', () => {
    const dir = copy('gpt2-position-ids', 'no-layers');
    const cfgFile = path.join(dir, 'config.json');
    const { n_layer: _dropped, ...rest } = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(cfgFile, JSON.stringify(rest));
    expect(() => readManifest(MODELS_DIR, { textModel: dir })).toThrow(`${cfgFile} has no layer count (num_hidden_layers / n_layer / num_layers)`);
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

  it('an onnxruntime-genai folder (genai_config.json, model.onnx at the root, no config.json) is read from genai_config.json', async () => {
    const dir = copy('qwen2-gqa', 'genai');
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.rmSync(path.join(dir, 'config.json'));
    fs.rmSync(path.join(dir, 'generation_config.json'));
    fs.renameSync(path.join(dir, 'onnx', 'model.onnx'), path.join(dir, 'model.onnx'));
    const genai = {
      model: {
        type: 'qwen2', vocab_size: cfg.vocab_size, context_length: cfg.max_position_embeddings, bos_token_id: 1, eos_token_id: [2, 400], pad_token_id: 0,
        decoder: { filename: 'model.onnx', head_size: cfg.head_dim, hidden_size: cfg.hidden_size, num_attention_heads: cfg.num_attention_heads, num_hidden_layers: cfg.num_hidden_layers, num_key_value_heads: cfg.num_key_value_heads },
      },
    };
    fs.writeFileSync(path.join(dir, 'genai_config.json'), JSON.stringify(genai));
    const entry = readManifest(MODELS_DIR, { textModel: dir }).models[0] as TextGenerationEntry;
    expect(entry).toMatchObject({ numLayers: 2, numKeyValueHeads: 2, headDim: 16, eosTokenId: [2, 400], files: { model: 'model.onnx' } });
    const engine = await InferenceEngine.load({ modelsDir: MODELS_DIR, textModel: dir, device: 'cpu', logger: quiet });
    try {
      const ref = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'qwen2-gqa', 'reference.json'), 'utf8')) as Reference;
      expect(await generateTogether(engine, ref.cases.map((c) => c.prompt_ids), ref.new_tokens)).toEqual(ref.cases.map((c) => c.greedy));
    } finally {
      await engine.close();
    }
    genai.model.decoder.filename = 'missing.onnx';
    fs.writeFileSync(path.join(dir, 'genai_config.json'), JSON.stringify(genai));
    expect(() => readManifest(MODELS_DIR, { textModel: dir })).toThrow(/genai_config\.json names decoder file "missing\.onnx"/);
  });

  it('a reduced entry with an unknown key or dtype is refused, naming the manifest', () => {
    const models = path.join(tmp, 'bad-models');
    fs.mkdirSync(models);
    fs.writeFileSync(path.join(models, 'manifest.json'), JSON.stringify({ version: 1, models: [{ id: 'tiny', task: 'text-generation', folder: 'x', dtype: 'int3' }] }));
    expect(() => readManifest(models)).toThrow(ManifestError);
    expect(() => readManifest(models)).toThrow(path.join(models, 'manifest.json'));
  });
});

describe('a graph without position_ids still batches prompts of equal length', () => {
  it('two equal-length prompts are admitted together, the third (other length) after them; tokens equal each alone', async () => {
    const { lm, release } = await openLM(path.join(FIXTURES, 'gpt2-no-position-ids'));
    try {
      const ref = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'gpt2-no-position-ids', 'reference.json'), 'utf8')) as Reference;
      const a = ref.cases[1]!.prompt_ids;
      const b = [...a.slice(0, -1), ref.cases[2]!.prompt_ids[3]!]; // same length, other last token
      const c = ref.cases[0]!.prompt_ids;
      const { ids, admittedAt } = await generateQueued(lm, [a, b, c], 8);
      expect(admittedAt[0]).toBe(admittedAt[1]);
      expect(admittedAt[2]).toBeGreaterThan(admittedAt[0]!);
      expect(ids[0]).toEqual(ref.cases[1]!.greedy.slice(0, 8));
      expect(ids[2]).toEqual(ref.cases[0]!.greedy.slice(0, 8));
      expect(ids[1]).toEqual(await greedyRecompute(lm, b, 8));
    } finally {
      await release();
    }
  });
});

describe('GroupQueryAttention graphs (onnxruntime-genai) are batched at equal length only', () => {
  let tmp: string;
  beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-gqa-'))));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('graphMentions finds an op name, also across its 16 MiB read chunks, and not where it is absent', () => {
    const file = path.join(tmp, 'straddle.bin');
    const needle = Buffer.from('GroupQueryAttention');
    const bytes = Buffer.alloc((1 << 24) + 64);
    needle.copy(bytes, (1 << 24) - 7);
    fs.writeFileSync(file, bytes);
    expect(graphMentions(file, 'GroupQueryAttention')).toBe(true);
    expect(graphMentions(path.join(FIXTURES, 'qwen2-gqa', 'onnx', 'model.onnx'), 'GroupQueryAttention')).toBe(false);
    expect(graphMentions(path.join(FIXTURES, 'qwen2-gqa-op', 'onnx', 'model.onnx'), 'GroupQueryAttention')).toBe(true);
  });

  it('the real op (fixture qwen2-gqa-op): said at load, and a left-padded row really differs from the row alone', async () => {
    const { lm, release } = await openLM(path.join(FIXTURES, 'qwen2-gqa-op'));
    try {
      expect(lm.equalLengthOnly).toMatch(/GroupQueryAttention/);
      const ref = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'qwen2-gqa-op', 'reference.json'), 'utf8')) as Reference;
      const diff = await leftPaddedDiff(lm, ref.cases[0]!.prompt_ids);
      expect(diff).toBeGreaterThan(1e-2);
    } finally {
      await release();
    }
  });

  it('a model file with the op makes the scheduler admit one prompt length per batch', async () => {
    const folder = path.join(FIXTURES, 'qwen2-gqa');
    const manifest = readManifest(MODELS_DIR, { textModel: folder });
    const entry = manifest.models[0] as TextGenerationEntry;
    const session = await openSession(manifest, entry);
    try {
      // The scan reads this copy (the op name appended); the session runs the real fixture.
      const marked = path.join(tmp, 'marked.onnx');
      fs.writeFileSync(marked, Buffer.concat([fs.readFileSync(modelFile(manifest, entry, 'model')), Buffer.from('GroupQueryAttention')]));
      const lm = new CausalLM(session, entry, marked);
      expect(lm.equalLengthOnly).toMatch(/GroupQueryAttention/);
      const ref = JSON.parse(fs.readFileSync(path.join(folder, 'reference.json'), 'utf8')) as Reference;
      const { ids, admittedAt } = await generateQueued(lm, ref.cases.map((c) => c.prompt_ids), ref.new_tokens);
      expect(ids).toEqual(ref.cases.map((c) => c.greedy));
      expect(new Set(admittedAt).size).toBe(ref.cases.length);
    } finally {
      await session.release();
    }
  });
});

describe('the worker-thread engine takes the folder too', () => {
  it('WorkerInferenceEngine.load({ textModel }) serves the folder', async () => {
    const folder = path.join(FIXTURES, 'qwen2-gqa');
    const engine = await WorkerInferenceEngine.load({ modelsDir: MODELS_DIR, textModel: folder, device: 'cpu', logger: quiet });
    try {
      expect(engine.models().filter((m) => m.task === 'text-generation').map((m) => m.id)).toEqual(['qwen2-gqa']);
      const stream = engine.generate({ prompt: 'Once upon a time', roomId: 'room-1', maxTokens: 4, temperature: 0, seed: 1, ignoreEos: true });
      const result = await stream.result;
      expect(result.tokens).toBe(4);
    } finally {
      await engine.close();
    }
  });
});

describe('why a graph without position_ids is not batched with left padding', () => {
  it('a left-padded prefill row on gpt2-no-position-ids gives other logits than the same row alone', async () => {
    const { lm, release } = await openLM(path.join(FIXTURES, 'gpt2-no-position-ids'));
    try {
      const ref = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'gpt2-no-position-ids', 'reference.json'), 'utf8')) as Reference;
      const diff = await leftPaddedDiff(lm, ref.cases[0]!.prompt_ids);
      expect(diff).toBeGreaterThan(1e-2); // the shifted positions change the output: the scheduler must not do this
    } finally {
      await release();
    }
  });
});

describe('float16 logits', () => {
  it('halfToFloat32 decodes normal, subnormal, signed and infinite halves', () => {
    const got = Array.from(halfToFloat32(Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0x7c00, 0x8000)));
    expect(got.slice(0, 4)).toEqual([1, -2, 65504, 2 ** -24]);
    expect(got[4]).toBeCloseTo(1 / 3, 3);
    expect(got[5]).toBe(Infinity);
    expect(Object.is(got[6], -0)).toBe(true);
  });
});
