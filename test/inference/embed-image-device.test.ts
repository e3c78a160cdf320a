// Embeddings, images, execution-provider selection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine } from '../../server/src/inference/engine';
import { DeviceUnavailableError } from '../../server/src/inference/errors';
import { decodePng } from '../../server/src/inference/png';
import { MODELS_DIR, firstId, fixture } from './helpers';

const quiet = { info: () => {}, warn: () => {} };
let engine: InferenceEngine;
beforeAll(async () => {
  engine = await InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'cpu', logger: quiet });
});
afterAll(async () => engine?.close());

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('embeddings', () => {
  it('returns one L2-normalised vector per text, batched, independent of batch composition', async () => {
    const texts = ['a cat under the moon', 'the dragon flew over the castle', 'hello', 'a kitten beneath the moon'];
    const vs = await engine.embed(texts);
    expect(vs).toHaveLength(4);
    const dims = engine.models().find((m) => m.id === firstId('embedding'))!.dims!;
    for (const v of vs) {
      expect(v.length).toBe(dims);
      expect(Math.sqrt(dot(v, v))).toBeCloseTo(1, 5);
    }
    const [alone] = await engine.embed([texts[1]!]);
    for (let i = 0; i < dims; i++) expect(alone![i]).toBeCloseTo(vs[1]![i]!, 5);
  });

  it('an empty text gives a zero vector; an unknown model is refused', async () => {
    const [z] = await engine.embed(['']);
    expect(z!.every((x) => x === 0)).toBe(true);
    await expect(engine.embed(['x'], { model: 'nope' })).rejects.toMatchObject({ code: 'unknown_model' });
  });

  it('tokenizes like the recipe and matches the PyTorch reference fixture (1e-4)', async (ctx) => {
    const id = firstId('embedding');
    const fx = fixture<{ texts?: string[]; input_ids?: number[][]; normalized?: number[][] }>(id);
    if (!fx?.texts || !fx.normalized) return ctx.skip();
    if (fx.input_ids) fx.texts.forEach((t, i) => expect(engine.tokenizer(id).encode(t)).toEqual(fx.input_ids![i]));
    const vs = await engine.embed(fx.texts, { model: id });
    let worst = 0;
    fx.normalized.forEach((ref, i) => ref.forEach((x, j) => (worst = Math.max(worst, Math.abs(vs[i]![j]! - x)))));
    expect(worst).toBeLessThan(1e-4);
  });
});

describe('images', () => {
  it('same prompt + seed → same PNG bytes; valid PNG of the requested size', async () => {
    const a = await engine.generateImage({ prompt: 'a cat under the moon', seed: 7 });
    const b = await engine.generateImage({ prompt: 'a cat under the moon', seed: 7 });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const png = decodePng(a);
    expect(png.width).toBe(128);
    expect(png.height).toBe(128);
    const small = decodePng(await engine.generateImage({ prompt: 'a cat under the moon', seed: 7, size: 64 }));
    expect(small.width).toBe(64);
  });

  it('different prompts (and different seeds) → different images', async () => {
    const cat = await engine.generateImage({ prompt: 'a cat under the moon', seed: 7 });
    const car = await engine.generateImage({ prompt: 'a red car on the road', seed: 7 });
    const cat2 = await engine.generateImage({ prompt: 'a cat under the moon', seed: 8 });
    expect(Buffer.from(cat).equals(Buffer.from(car))).toBe(false);
    expect(Buffer.from(cat).equals(Buffer.from(cat2))).toBe(false);
  });

  it('matches the PyTorch reference fixture (conditioning embedding 1e-4, image 1e-3)', async (ctx) => {
    const id = firstId('image-generation');
    const fx = fixture<{ caption?: string; text_embedding?: number[][]; noise?: number[][]; image_slice?: number[][][]; slice_origin?: number[]; image_mean?: number }>(id);
    if (!fx?.caption || !fx.text_embedding || !fx.noise || !fx.image_slice) return ctx.skip();
    const cond = engine.models().find((m) => m.id === id)!.conditioningModel!;
    const [emb] = await engine.embed([fx.caption], { model: cond });
    fx.text_embedding[0]!.forEach((x, j) => expect(Math.abs(emb![j]! - x)).toBeLessThan(1e-4));
    const img = await engine.imageTensor({ textEmbedding: Float32Array.from(fx.text_embedding[0]!), noise: Float32Array.from(fx.noise[0]!), model: id });
    const S = engine.models().find((m) => m.id === id)!.imageSize!;
    const [y0 = 12, x0 = 12] = fx.slice_origin ?? []; // where the fixture's slice starts (rows, cols)
    fx.image_slice.forEach((rows, c) =>
      rows.forEach((cols, y) => cols.forEach((v, x) => expect(Math.abs(img[(c * S + y0 + y) * S + x0 + x]! - v)).toBeLessThan(1e-3))),
    );
    if (fx.image_mean !== undefined) expect(Math.abs(img.reduce((a, b) => a + b, 0) / img.length - fx.image_mean)).toBeLessThan(1e-3);
  });

  it('empty prompt and unknown model are refused', async () => {
    await expect(engine.generateImage({ prompt: ' ', seed: 1 })).rejects.toMatchObject({ code: 'empty_prompt' });
    await expect(engine.generateImage({ prompt: 'x', seed: 1, model: 'nope' })).rejects.toMatchObject({ code: 'unknown_model' });
  });
});

describe('execution provider', () => {
  const hasCuda = process.env.ENSEMBLE_TEST_HAS_CUDA === '1';

  it.skipIf(hasCuda)('ENSEMBLE_DEVICE=cuda without the CUDA provider is a clear startup error', async () => {
    const err = await InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'cuda', logger: quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceUnavailableError);
    expect((err as Error).message).toMatch(/ENSEMBLE_DEVICE=cuda/);
    expect((err as Error).message).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });

  it.skipIf(hasCuda)('ENSEMBLE_DEVICE=auto falls back to the CPU with a logged warning', async () => {
    const warnings: string[] = [];
    const e = await InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'auto', logger: { info() {}, warn: (_o, msg) => warnings.push(msg ?? '') } });
    try {
      expect(e.device).toBe('cpu');
      expect(warnings.some((w) => /CUDA.*falling back to CPU/.test(w))).toBe(true);
      expect((await e.generate({ prompt: 'Once', roomId: 'r', maxTokens: 2 }).result).tokens).toBeGreaterThan(0);
    } finally {
      await e.close();
    }
  });
});
