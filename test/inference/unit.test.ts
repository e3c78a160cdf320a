// Parts of the runtime that need no model: sampling, incremental detokenization, the stream.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyRepetitionPenalty, argmax, Rng, sampleToken } from '../../server/src/inference/sampling';
import { IncrementalDecoder, TextTokenizer } from '../../server/src/inference/tokenizer';
import { GenerationStream } from '../../server/src/inference/stream';
import { InferenceError } from '../../server/src/inference/errors';
import { emptyKV, packKV, type KVBatch } from '../../server/src/inference/causal-lm';
import { MODELS_DIR, manifestJson, writeByteLevelTokenizer } from './helpers';

describe('sampling', () => {
  it('Rng is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xa);
    for (const x of xa) expect(x >= 0 && x < 1).toBe(true);
  });

  it('normal() has mean ≈ 0 and variance ≈ 1', () => {
    const r = new Rng(7);
    const xs = Array.from({ length: 20000 }, () => r.normal());
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const v = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(v - 1)).toBeLessThan(0.05);
  });

  it('temperature 0 is argmax', () => {
    const logits = Float32Array.from([0.1, 3, 2.9, -1]);
    expect(sampleToken(logits.slice(), { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 }, new Rng(1), [])).toBe(1);
    expect(argmax(logits)).toBe(1);
  });

  it('top-k 1 is greedy whatever the temperature; top-p keeps the nucleus', () => {
    const logits = Float32Array.from([0, 5, 4.9, 1]);
    for (let s = 0; s < 50; s++) {
      expect(sampleToken(logits.slice(), { temperature: 2, topK: 1, topP: 1, repetitionPenalty: 1 }, new Rng(s), [])).toBe(1);
      const t = sampleToken(logits.slice(), { temperature: 1, topK: 0, topP: 0.6, repetitionPenalty: 1 }, new Rng(s), []);
      expect([1, 2]).toContain(t);
    }
  });

  it('same seed → same samples; sampling follows the distribution', () => {
    const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
    const p = { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 };
    const r1 = new Rng(9);
    const r2 = new Rng(9);
    const counts = [0, 0, 0];
    for (let i = 0; i < 6000; i++) {
      const t = sampleToken(logits.slice(), p, r1, []);
      expect(sampleToken(logits.slice(), p, r2, [])).toBe(t);
      counts[t]!++;
    }
    expect(counts[0]! / 6000).toBeCloseTo(0.5, 1);
    expect(counts[2]! / 6000).toBeCloseTo(0.2, 1);
  });

  it('repetition penalty divides positive and multiplies negative logits; banned ids never win', () => {
    const l = Float32Array.from([2, -2, 1]);
    applyRepetitionPenalty(l, [0, 1, 0], 2);
    expect(Array.from(l)).toEqual([1, -4, 1]);
    const g = sampleToken(Float32Array.from([9, 1, 0]), { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 }, new Rng(1), [], [0]);
    expect(g).toBe(1);
  });
});

describe('incremental detokenization', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-tok-'));
  const tok = TextTokenizer.fromFiles(writeByteLevelTokenizer(dir), path.join(dir, 'tokenizer_config.json'));

  it('streams valid text across multi-byte characters split over byte tokens', () => {
    const text = ' the cat 🐈 sat — naïve 日本 ok';
    const ids = tok.encode(text, false);
    expect(tok.decode(ids)).toBe(text);
    const dec = new IncrementalDecoder(tok, tok.encode('Once upon a time'));
    const deltas: string[] = [];
    for (const id of ids) {
      const d = dec.push(id);
      if (d) deltas.push(d);
    }
    const rest = dec.flush();
    if (rest) deltas.push(rest);
    expect(deltas.join('')).toBe(text);
    for (const d of deltas) {
      expect(d).not.toContain('\uFFFD');
      // No lone surrogates: a round trip through UTF-8 is lossless.
      expect(Buffer.from(d, 'utf8').toString('utf8')).toBe(d);
    }
    // The emoji (4 byte tokens) arrives in one delta.
    expect(deltas.some((d) => d.includes('🐈'))).toBe(true);
  });

  it('skips special tokens and keeps the leading space of the first token', () => {
    const dec = new IncrementalDecoder(tok, tok.encode('Hello'));
    const out = [...tok.encode(' there', false), 2].map((t) => dec.push(t)).join('') + dec.flush();
    expect(out).toBe(' there');
  });

  it('streams the committed story model tokenizer without broken characters', () => {
    const m = manifestJson().models.find((e) => e.task === 'text-generation');
    if (!m) return;
    const dir = path.join(MODELS_DIR, m.folder);
    const real = TextTokenizer.fromFiles(path.join(dir, m.files.tokenizer as string), m.files.tokenizerConfig ? path.join(dir, m.files.tokenizerConfig as string) : undefined);
    const text = ' Zoë saw a 🐉 — “naïve” 日本語 café!\n\nThe end.';
    const ids = real.encode(text, false);
    const dec = new IncrementalDecoder(real, real.encode('Once upon a time'));
    const deltas = ids.map((t) => dec.push(t)).filter(Boolean);
    const rest = dec.flush();
    if (rest) deltas.push(rest);
    expect(deltas.join('')).toBe(real.decode(ids));
    expect(deltas.join('')).toBe(text);
    for (const d of deltas) expect(d).not.toContain('\uFFFD');
  });

  it('flush emits an incomplete trailing character as U+FFFD rather than dropping it', () => {
    const ids = tok.encode('é', false); // 2 byte tokens
    const dec = new IncrementalDecoder(tok);
    expect(dec.push(ids[0]!)).toBe('');
    expect(dec.flush()).toBe('\uFFFD');
  });
});

describe('GenerationStream', () => {
  it('delivers chunks then the result; return() aborts', async () => {
    let aborted = 0;
    const s = new GenerationStream(() => aborted++);
    s.push({ text: 'a', tokenId: 1 });
    setTimeout(() => {
      s.push({ text: 'b', tokenId: 2 });
      s.finish({ text: 'ab', finishReason: 'stop', tokens: 2 });
    }, 5);
    const got: string[] = [];
    for await (const c of s) got.push(c.text);
    expect(got).toEqual(['a', 'b']);
    expect(await s.result).toEqual({ text: 'ab', finishReason: 'stop', tokens: 2 });
    expect(aborted).toBe(0);

    const t = new GenerationStream(() => aborted++);
    t.push({ text: 'x', tokenId: 1 });
    for await (const _ of t) break;
    expect(aborted).toBe(1);
  });

  it('a failure rejects result and throws from the iterator without an unhandled rejection', async () => {
    const s = new GenerationStream(() => {});
    s.fail(new InferenceError('internal', 'boom'));
    await expect(s.result).rejects.toMatchObject({ code: 'internal' });
    await expect((async () => {
      for await (const _ of s) void _;
    })()).rejects.toThrow('boom');
  });
});

describe('packKV', () => {
  it('gathers left-padded rows from several batches into a tight batch', () => {
    const shape = { numLayers: 1, heads: 2, headDim: 2 };
    // batch A: 2 rows, past 3; row 1 has len 2. Values encode (row, head, pos).
    const mk = (rows: number, past: number, base: number): KVBatch => {
      const d = new Float32Array(rows * 2 * past * 2);
      for (let r = 0; r < rows; r++) for (let h = 0; h < 2; h++) for (let p = 0; p < past; p++) for (let x = 0; x < 2; x++) d[((r * 2 + h) * past + p) * 2 + x] = base + r * 100 + h * 10 + p;
      return { rows, past, data: [d, d.slice()] };
    };
    const A = mk(2, 3, 0);
    const B = mk(1, 1, 1000);
    const out = packKV(shape, [
      { kv: A, row: 1, len: 2 },
      { kv: B, row: 0, len: 1 },
    ]);
    expect(out.rows).toBe(2);
    expect(out.past).toBe(2);
    const d = out.data[0]!;
    // row 0 = A row 1 positions 1..2
    expect(Array.from(d.subarray(0, 4))).toEqual([101, 101, 102, 102]);
    expect(Array.from(d.subarray(4, 8))).toEqual([111, 111, 112, 112]);
    // row 1 = B row 0 position 0, left-padded with zeros
    expect(Array.from(d.subarray(8, 12))).toEqual([0, 0, 1000, 1000]);
    expect(emptyKV(shape, 3).past).toBe(0);
    // Into reused (dirty) memory: same values, padding cleared.
    const dirty = [new Float32Array(2 * 2 * 2 * 2).fill(NaN), new Float32Array(16).fill(NaN)];
    const again = packKV(shape, [{ kv: A, row: 1, len: 2 }, { kv: B, row: 0, len: 1 }], dirty, 1);
    expect(again.pool).toBe(1);
    expect(Array.from(again.data[0]!)).toEqual(Array.from(d));
  });
});
