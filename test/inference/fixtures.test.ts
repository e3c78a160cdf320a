// ONNX outputs against the PyTorch reference computed by the recipes (models/fixtures/<id>.json).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine } from '../../server/src/inference/engine';
import type { CausalLM } from '../../server/src/inference/causal-lm';
import { argmax } from '../../server/src/inference/sampling';
import type { GenerationResult } from '../../server/src/inference/stream';
import { MODELS_DIR, firstId, fixture, forwardFromScratch } from './helpers';

interface LmFixture {
  prompt: string;
  input_ids: number[];
  vocab_subset: number[];
  /** logits[t][j]: position t, token vocab_subset[j] (full recompute). */
  logits: number[][];
  argmax: number[];
  greedy_next_tokens: number[];
}

const TOL = 1e-3;
let engine: InferenceEngine;
let lm: CausalLM;
const lmId = firstId('text-generation');
const fx = fixture<LmFixture>(lmId);

beforeAll(async () => {
  engine = await InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'cpu', logger: { info() {}, warn() {} } });
  // @ts-expect-error the scheduler's model, for direct forward passes
  lm = engine.scheduler(lmId).lm;
});
afterAll(async () => engine?.close());

async function full(ids: number[]): Promise<Float32Array> {
  return (await forwardFromScratch(lm, ids)).logits;
}

describe.skipIf(!fx)(`text model ${lmId} vs PyTorch`, () => {
  it('the runtime tokenizer reproduces the fixture input ids (BOS included)', () => {
    expect(engine.tokenizer(lmId).encode(fx!.prompt)).toEqual(fx!.input_ids);
  });

  it('logits equal the reference within 1e-3 at every position', async () => {
    const V = lm.vocabSize;
    const logits = await full(fx!.input_ids);
    let worst = 0;
    fx!.logits.forEach((row, t) => {
      row.forEach((ref, j) => {
        worst = Math.max(worst, Math.abs(logits[t * V + fx!.vocab_subset[j]!]! - ref));
      });
      expect(argmax(logits.subarray(t * V, (t + 1) * V))).toBe(fx!.argmax[t]);
    });
    expect(worst).toBeLessThan(TOL);
  });

  it('KV-cached incremental logits equal full recomputation (prefill half, then one token at a time)', async () => {
    const ids = fx!.input_ids;
    const V = lm.vocabSize;
    const ref = await full(ids);
    const h = Math.floor(ids.length / 2);
    let out = await forwardFromScratch(lm, ids.slice(0, h));
    for (let t = h; t < ids.length; t++) {
      out = await lm.forward({
        rows: 1,
        seq: 1,
        inputIds: BigInt64Array.of(BigInt(ids[t]!)),
        attentionMask: new BigInt64Array(t + 1).fill(1n),
        positionIds: BigInt64Array.of(BigInt(t)),
        past: out.present,
      });
      for (let v = 0; v < V; v++) expect(Math.abs(out.logits[v]! - ref[t * V + v]!)).toBeLessThan(TOL);
    }
  });

  it('greedy decoding (full recompute and the KV-cache scheduler) reproduces the reference tokens', async () => {
    const seq = [...fx!.input_ids];
    const got: number[] = [];
    const V = lm.vocabSize;
    for (let i = 0; i < fx!.greedy_next_tokens.length; i++) {
      const l = await full(seq);
      const next = argmax(l.subarray((seq.length - 1) * V, seq.length * V));
      got.push(next);
      seq.push(next);
    }
    expect(got).toEqual(fx!.greedy_next_tokens);

    const sched = engine.scheduler(lmId);
    const eos = Array.isArray(lm.entry.eosTokenId) ? lm.entry.eosTokenId : [lm.entry.eosTokenId];
    const want = fx!.greedy_next_tokens;
    const stopAt = want.findIndex((t) => eos.includes(t));
    const expected = stopAt >= 0 ? want.slice(0, stopAt) : want;
    const ids = await new Promise<readonly number[]>((resolve, reject) => {
      const h = sched.add({
        promptIds: fx!.input_ids,
        roomId: 'fx',
        maxTokens: want.length,
        sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 },
        seed: 0,
        stop: [],
        onFinish: (_r: GenerationResult) => resolve(h.generatedIds),
        onError: reject,
      });
    });
    expect([...ids]).toEqual(expected);
  });
});
