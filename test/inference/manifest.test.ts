// Startup checks of the models folder: bad JSON, schema errors, missing files, wrong dims.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManifest, readManifest } from '../../server/src/inference/manifest';
import { ManifestError } from '../../server/src/inference/errors';
import { InferenceEngine } from '../../server/src/inference/engine';
import { copyModels, manifestJson } from './helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function tmpModels(edit?: (m: ReturnType<typeof manifestJson>) => void): string {
  const dir = copyModels();
  dirs.push(dir);
  if (edit) {
    const m = manifestJson(dir);
    edit(m);
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
  }
  return dir;
}

async function loadError(dir: string): Promise<ManifestError> {
  try {
    await loadManifest(dir);
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestError);
    return e as ManifestError;
  }
  throw new Error('loadManifest did not fail');
}

describe('models manifest', () => {
  it('the committed manifest is valid and every graph matches it', async () => {
    const m = await loadManifest(tmpModels());
    const tasks = new Set(m.models.map((e) => e.task));
    expect(tasks).toEqual(new Set(['text-generation', 'embedding', 'image-generation']));
  });

  it('bad JSON names the file', async () => {
    const dir = tmpModels();
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{ "version": 1, "models": [ ');
    const e = await loadError(dir);
    expect(e.message).toMatch(/not valid JSON/);
    expect(e.message).toContain(path.join(dir, 'manifest.json'));
  });

  it('a missing manifest says how to point at another folder', async () => {
    const dir = tmpModels();
    fs.rmSync(path.join(dir, 'manifest.json'));
    expect((await loadError(dir)).message).toMatch(/ENSEMBLE_MODELS_DIR/);
  });

  it('schema errors name the model and the field', async () => {
    const dir = tmpModels((m) => {
      const lm = m.models.find((e) => e.task === 'text-generation')! as Record<string, unknown>;
      lm.contextLength = -3;
    });
    const id = manifestJson(dir).models.find((e) => e.task === 'text-generation')!.id;
    const e = await loadError(dir);
    expect(e.message).toContain(`model "${id}"`);
    expect(e.message).toContain('contextLength');
  });

  it('a missing file names the model and the file', async () => {
    const dir = tmpModels();
    const entry = manifestJson(dir).models.find((e) => e.task === 'embedding')!;
    const file = path.join(dir, entry.folder, entry.files.tokenizer as string);
    fs.rmSync(file);
    const e = await loadError(dir);
    expect(e.modelId).toBe(entry.id);
    expect(e.message).toContain(`model "${entry.id}"`);
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/missing/);
  });

  it('wrong dims (manifest vs ONNX graph) name the model, the file and the tensor', async () => {
    for (const [task, field, tensor] of [
      ['text-generation', 'vocabSize', 'logits'],
      ['text-generation', 'headDim', 'past_key_values.0.key'],
      ['embedding', 'dims', 'embeddings'],
      ['image-generation', 'imageSize', 'image'],
    ] as const) {
      const dir = tmpModels((m) => {
        const e = m.models.find((x) => x.task === task)! as Record<string, unknown>;
        e[field] = (e[field] as number) + 1;
        if (task === 'embedding') {
          const img = m.models.find((x) => x.task === 'image-generation') as Record<string, unknown> | undefined;
          if (img) img.conditioningDims = e[field];
        }
        if (task === 'text-generation' && field === 'vocabSize') delete (e.files as Record<string, unknown>).config;
      });
      const entry = manifestJson(dir).models.find((e) => e.task === task)!;
      const e = await loadError(dir);
      expect(e.message, `${task}.${field}`).toContain(`model "${entry.id}"`);
      expect(e.message).toContain(path.join(dir, entry.folder, entry.files.model as string));
      expect(e.message).toContain(tensor);
    }
  });

  it('an image model conditioned on an unknown or mismatched embedding model is refused', async () => {
    const dir = tmpModels((m) => {
      const img = m.models.find((x) => x.task === 'image-generation')! as Record<string, unknown>;
      img.conditioningModel = 'no-such-model';
    });
    expect(() => readManifest(dir)).toThrow(/conditioningModel "no-such-model"/);
  });

  it('a corrupt ONNX file is a ManifestError naming it', async () => {
    const dir = tmpModels();
    const entry = manifestJson(dir).models.find((e) => e.task === 'image-generation')!;
    const file = path.join(dir, entry.folder, entry.files.model as string);
    fs.writeFileSync(file, 'not an onnx file');
    const e = await loadError(dir);
    expect(e.message).toContain(`model "${entry.id}"`);
    expect(e.message).toContain(file);
  });

  it('the engine fails to start with the same errors', async () => {
    const dir = tmpModels();
    const entry = manifestJson(dir).models.find((e) => e.task === 'text-generation')!;
    fs.rmSync(path.join(dir, entry.folder, entry.files.tokenizer as string));
    await expect(InferenceEngine.load({ modelsDir: dir, device: 'cpu', logger: { info() {}, warn() {} } })).rejects.toThrow(
      new RegExp(`model "${entry.id}".*tokenizer.*missing`),
    );
  });
});
