// Sentence-embedding folders served unchanged (ENSEMBLE_EMBED_MODEL): the committed random-weight
// encoders (models/fixtures/hf/bert-embed*, built by models/recipes/build_hf_embed_fixture.py)
// against their PyTorch sentence embeddings, alone and in one right-padded batch of texts of other
// lengths; broken folders fail at load with a ManifestError naming the file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine } from '../../server/src/inference/engine';
import { ManifestError } from '../../server/src/inference/errors';
import { readManifest } from '../../server/src/inference/manifest';
import { WorkerInferenceEngine } from '../../server/src/inference/worker-engine';
import { MODELS_DIR } from './helpers';

const FIXTURES = path.join(MODELS_DIR, 'fixtures', 'hf');
const quiet = { info: () => {}, warn: () => {} };
const TOL = 1e-4;

interface Reference {
  pooling: 'mean' | 'cls';
  normalize: boolean;
  cases: Array<{ text: string; ids: number[]; embedding: number[] }>;
}

function reference(name: string): Reference {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'reference.json'), 'utf8')) as Reference;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

describe.each(['bert-embed', 'bert-embed-cls'])('sentence-embedding folder %s', (name) => {
  const ref = reference(name);
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.load({ modelsDir: MODELS_DIR, embedModel: path.join(FIXTURES, name), device: 'cpu', logger: quiet });
  });
  afterAll(async () => engine?.close());

  it('loads from the folder unchanged: dims from config.json, pooling and normalisation from its modules', () => {
    const info = engine.models().find((m) => m.id === name);
    expect(info).toMatchObject({ task: 'embedding', dims: 32, maxTokens: 128 });
    const entry = engine.manifest.models.find((m) => m.id === name);
    expect(entry).toMatchObject({ pooling: ref.pooling, normalize: ref.normalize });
    // The first embedding model, so embed() without a model id uses it; the built-in one stays.
    expect(engine.models().filter((m) => m.task === 'embedding').map((m) => m.id)).toEqual([name, 'ensemble-embed']);
  });

  it('tokenizes as the reference did (<s> text </s>)', () => {
    for (const c of ref.cases) expect(engine.tokenizer(name).encode(c.text)).toEqual(c.ids);
    expect(new Set(ref.cases.map((c) => c.ids.length)).size).toBe(ref.cases.length);
  });

  it(`matches the PyTorch sentence embedding of each text alone within ${TOL}`, async () => {
    for (const c of ref.cases) {
      const [v] = await engine.embed([c.text]);
      expect(maxDiff(v!, c.embedding)).toBeLessThan(TOL);
    }
  });

  it(`matches them in one right-padded batch of texts of different lengths within ${TOL}`, async () => {
    const vs = await engine.embed(ref.cases.map((c) => c.text));
    ref.cases.forEach((c, i) => expect(maxDiff(vs[i]!, c.embedding)).toBeLessThan(TOL));
    for (const v of vs) {
      if (ref.normalize) expect(norm(v)).toBeCloseTo(1, 5);
      else expect(Math.abs(norm(v) - 1)).toBeGreaterThan(1e-2); // not normalised behind the model's back
    }
  });

  it('still serves the built-in embedding model by id, unchanged (128 dims, unit length)', async () => {
    const [v] = await engine.embed(['A dragon under the bridge.'], { model: 'ensemble-embed' });
    expect(v!.length).toBe(128);
    expect(norm(v!)).toBeCloseTo(1, 5);
  });
});

describe('sentence-embedding folders: loaders and broken folders', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-hf-embed-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A copy of the mean-pooling fixture with `edit` applied, as its own folder. */
  function brokenCopy(label: string, edit: (dir: string) => void): string {
    const dir = path.join(tmp, label);
    fs.cpSync(path.join(FIXTURES, 'bert-embed'), dir, { recursive: true });
    edit(dir);
    return dir;
  }

  async function loadError(folder: string): Promise<ManifestError> {
    const err = await InferenceEngine.load({ modelsDir: MODELS_DIR, embedModel: folder, device: 'cpu', logger: quiet }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ManifestError);
    return err as ManifestError;
  }

  it('a manifest entry reduced to { id, task: "embedding", folder } is read from the folder', async () => {
    const dir = path.join(tmp, 'manifest');
    fs.cpSync(path.join(FIXTURES, 'bert-embed'), path.join(dir, 'minilm'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: 1, models: [{ id: 'minilm', task: 'embedding', folder: 'minilm' }] }));
    expect(readManifest(dir).models[0]).toMatchObject({ id: 'minilm', dims: 32, pooling: 'mean', normalize: true, files: { model: 'onnx/model.onnx' } });
    const engine = await InferenceEngine.load({ modelsDir: dir, device: 'cpu', logger: quiet });
    try {
      const [v] = await engine.embed([reference('bert-embed').cases[1]!.text]);
      expect(maxDiff(v!, reference('bert-embed').cases[1]!.embedding)).toBeLessThan(TOL);
    } finally {
      await engine.close();
    }
  });

  it('WorkerInferenceEngine.load({ embedModel }) serves the folder', async () => {
    const ref = reference('bert-embed');
    const engine = await WorkerInferenceEngine.load({ modelsDir: MODELS_DIR, embedModel: path.join(FIXTURES, 'bert-embed'), device: 'cpu', logger: quiet });
    try {
      const vs = await engine.embed(ref.cases.map((c) => c.text));
      ref.cases.forEach((c, i) => expect(maxDiff(vs[i]!, c.embedding)).toBeLessThan(TOL));
    } finally {
      await engine.close();
    }
  });

  it('a missing config.json is a ManifestError naming it', async () => {
    const err = await loadError(brokenCopy('no-config', (d) => fs.rmSync(path.join(d, 'config.json'))));
    expect(err.file).toBe(path.join(tmp, 'no-config', 'config.json'));
    expect(err.message).toContain('config.json is missing');
  });

  it('a module the runtime cannot apply (Dense) is a ManifestError naming modules.json', async () => {
    const dir = brokenCopy('dense', (d) => {
      const mods = JSON.parse(fs.readFileSync(path.join(d, 'modules.json'), 'utf8')) as object[];
      mods.splice(2, 0, { idx: 2, name: '2', path: '2_Dense', type: 'sentence_transformers.models.Dense' });
      fs.writeFileSync(path.join(d, 'modules.json'), JSON.stringify(mods));
    });
    const err = await loadError(dir);
    expect(err.file).toBe(path.join(dir, 'modules.json'));
    expect(err.message).toContain('sentence_transformers.models.Dense');
  });

  it('a pooling mode the runtime does not serve is a ManifestError naming the Pooling config', async () => {
    const dir = brokenCopy('weighted', (d) => {
      const file = path.join(d, '1_Pooling', 'config.json');
      const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
      fs.writeFileSync(file, JSON.stringify({ ...cfg, pooling_mode_mean_tokens: false, pooling_mode_weightedmean_tokens: true }));
    });
    const err = await loadError(dir);
    expect(err.file).toBe(path.join(dir, '1_Pooling', 'config.json'));
    expect(err.message).toContain('weightedmean_tokens');
  });

  it('a hidden size the graph does not have is a ManifestError naming the ONNX file', async () => {
    const dir = brokenCopy('dims', (d) => {
      const file = path.join(d, 'config.json');
      const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
      fs.writeFileSync(file, JSON.stringify({ ...cfg, hidden_size: 48 }));
      fs.rmSync(path.join(d, '1_Pooling', 'config.json'));
    });
    const err = await loadError(dir);
    expect(err.file).toBe(path.join(dir, 'onnx', 'model.onnx'));
    expect(err.message).toContain('has 32 features but config.json\'s hidden size is 48');
  });
});
