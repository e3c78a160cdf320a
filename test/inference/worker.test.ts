// The worker-thread engine: same results as in-process, streaming, abort, busy, errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine } from '../../server/src/inference/engine';
import { WorkerInferenceEngine } from '../../server/src/inference/worker-engine';
import { InferenceError, ManifestError } from '../../server/src/inference/errors';
import { Registry } from '../../server/src/inference/metrics';
import { MODELS_DIR } from './helpers';
import type { Inference } from '../../server/src/inference/index';

// Both engines are an Inference, the type the agent takes (checked by tsc).
export const _agentCompat = (a: InferenceEngine, b: WorkerInferenceEngine): Inference[] => [a, b];

const quiet = { info: () => {}, warn: () => {} };
let local: InferenceEngine;
let remote: WorkerInferenceEngine;
const registry = new Registry();
beforeAll(async () => {
  [local, remote] = await Promise.all([
    InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'cpu', logger: quiet }),
    WorkerInferenceEngine.load({ modelsDir: MODELS_DIR, device: 'cpu', maxBatch: 2, maxQueue: 1, logger: quiet, metrics: registry }),
  ]);
});
afterAll(async () => {
  await local?.close();
  await remote?.close();
});

describe('WorkerInferenceEngine', () => {
  it('lists the same models and streams the same text as in-process', async () => {
    expect(remote.models()).toEqual(local.models());
    const req = { prompt: 'Once upon a time', roomId: 'r', maxTokens: 24, seed: 5, temperature: 0.9 };
    const s = remote.generate(req);
    let text = '';
    for await (const c of s) text += c.text;
    const r = await s.result;
    expect(r.text).toBe(text);
    expect(r).toEqual(await local.generate(req).result);
  });

  it('embeddings and images equal in-process results', async () => {
    const texts = ['a cat under the moon', 'a red car'];
    const [a, b] = await Promise.all([remote.embed(texts), local.embed(texts)]);
    expect(a.map((v) => Array.from(v))).toEqual(b.map((v) => Array.from(v)));
    const req = { prompt: 'a cat under the moon', seed: 3 };
    const [x, y] = await Promise.all([remote.generateImage(req), local.generateImage(req)]);
    expect(Buffer.from(x).equals(Buffer.from(y))).toBe(true);
  });

  it('abort, busy (synchronous), unknown model, empty prompt', async () => {
    const ac = new AbortController();
    const held = [remote.generate({ prompt: 'Once', roomId: 'a', maxTokens: 200, ignoreEos: true, signal: ac.signal }), remote.generate({ prompt: 'Once', roomId: 'b', maxTokens: 200, ignoreEos: true }), remote.generate({ prompt: 'Once', roomId: 'c', maxTokens: 200, ignoreEos: true })];
    expect(() => remote.generate({ prompt: 'one more', roomId: 'd' })).toThrowError(expect.objectContaining({ code: 'busy' }));
    ac.abort();
    held[1]!.abort();
    held[2]!.abort();
    const results = await Promise.all(held.map((h) => h.result));
    expect(results.map((r) => r.finishReason)).toEqual(['aborted', 'aborted', 'aborted']);
    expect(() => remote.generate({ prompt: 'x', roomId: 'a', model: 'nope' })).toThrowError(expect.objectContaining({ code: 'unknown_model' }));
    expect(() => remote.generate({ prompt: ' ', roomId: 'a' })).toThrowError(expect.objectContaining({ code: 'empty_prompt' }));
    await expect(remote.generateImage({ prompt: ' ', seed: 1 })).rejects.toBeInstanceOf(InferenceError);
  });

  it('forwards metrics to the main-thread registry', async () => {
    await remote.generate({ prompt: 'Hello', roomId: 'm', maxTokens: 3 }).result;
    await new Promise((r) => setTimeout(r, 20));
    expect(await registry.metrics()).toMatch(/ensemble_inference_generated_tokens_total\{model="[^"]+"\} [1-9]/);
  });

  it('a bad models folder fails to load with a ManifestError', async () => {
    await expect(WorkerInferenceEngine.load({ modelsDir: '/nonexistent', logger: quiet })).rejects.toBeInstanceOf(ManifestError);
  });
});
