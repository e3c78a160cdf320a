// The output's token constraints (output.ts): a prompt's trailing spaces are healed (cut from the
// prompt, the first token must be a space-led word, the output drops the space again), and an
// output asked for minTokens may not end, nor spend its budget, on whitespace alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CausalLM, ForwardInput } from '../../server/src/inference/causal-lm';
import { InferenceEngine } from '../../server/src/inference/engine';
import { Scheduler } from '../../server/src/inference/scheduler';
import type { GenerationResult } from '../../server/src/inference/stream';
import { healTrailingSpace, LEADING_BLANK_TOKENS, RequestOutput } from '../../server/src/inference/output';
import { tokenClasses } from '../../server/src/inference/token-classes';
import { TextTokenizer } from '../../server/src/inference/tokenizer';
import { MODELS_DIR, writeByteLevelTokenizer } from './helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-constraints-'));
const tok = TextTokenizer.fromFiles(writeByteLevelTokenizer(dir), path.join(dir, 'tokenizer_config.json'));
/** The byte-level fixture: ids 3 + byte, then 'th' = 259 and 'Ġt' (" t") = 260. */
const byteId = (ch: string): number => 3 + ch.charCodeAt(0);
const V = 261;
const SPACE_T = 260;

describe('healTrailingSpace and the token classes', () => {
  it('cuts trailing spaces only, and never the whole prompt', () => {
    expect(healTrailingSpace('The dog. ')).toEqual({ prompt: 'The dog.', healedSpace: ' ' });
    expect(healTrailingSpace('The dog.  ')).toEqual({ prompt: 'The dog.', healedSpace: '  ' });
    expect(healTrailingSpace('The dog.')).toEqual({ prompt: 'The dog.', healedSpace: '' });
    expect(healTrailingSpace('The dog.\n')).toEqual({ prompt: 'The dog.\n', healedSpace: '' });
    expect(healTrailingSpace('   ')).toEqual({ prompt: '   ', healedSpace: '' });
  });

  it('classes each id: a space-led word, whitespace only, or neither', () => {
    const c = tokenClasses(tok, V);
    expect(c.spaceWord[SPACE_T]).toBe(1);
    expect(c.spaceWord[byteId('t')]).toBe(0);
    expect(c.blank[byteId(' ')]).toBe(1);
    expect(c.blank[byteId('\n')]).toBe(1);
    expect(c.blank[byteId('t')]).toBe(0);
    expect(c.spaceWord[2]! + c.blank[2]!).toBe(0); // <eos> is special
    expect(tokenClasses(tok, V)).toBe(c); // computed once
  });
});

describe('RequestOutput.constrain', () => {
  const masked = (out: RequestOutput): number[] => {
    const logits = new Float32Array(V);
    out.constrain(logits);
    return [...logits.keys()].filter((i) => logits[i] === -Infinity);
  };

  it('after a healed prompt the first token must be a space-led word, and its space is dropped', () => {
    const chunks: string[] = [];
    const out = new RequestOutput(tok, tok.encode('Once'), [], (t) => chunks.push(t), { healedSpace: ' ' });
    const banned = masked(out);
    expect(banned).not.toContain(SPACE_T);
    expect(banned).toContain(byteId('t'));
    expect(banned).toContain(byteId(' '));
    expect(banned.length).toBe(V - 1);
    out.append(SPACE_T);
    expect(masked(out)).toEqual([]); // only the first token is constrained
    out.append(byteId('o'));
    out.finish();
    expect(out.text).toBe('to');
    expect(chunks.join('')).toBe('to');
  });

  it('without healing nothing is constrained and the space stays', () => {
    const out = new RequestOutput(tok, tok.encode('Once'), [], undefined, {});
    expect(masked(out)).toEqual([]);
    out.append(SPACE_T);
    out.finish();
    expect(out.text).toBe(' t');
  });

  it('with minTokens, whitespace tokens are banned after LEADING_BLANK_TOKENS of them until something visible', () => {
    const out = new RequestOutput(tok, tok.encode('The end.'), ['\n\n'], undefined, { minTokens: 4 });
    for (let i = 0; i < LEADING_BLANK_TOKENS; i++) {
      expect(masked(out)).toEqual([]);
      out.append(byteId('\n'));
    }
    expect(out.visible).toBe(false);
    const banned = masked(out);
    expect(banned).toContain(byteId('\n'));
    expect(banned).toContain(byteId(' '));
    expect(banned).not.toContain(byteId('T'));
    expect(banned).not.toContain(SPACE_T);
    out.append(byteId('T'));
    expect(out.visible).toBe(true);
    expect(masked(out)).toEqual([]);
  });

  it('without minTokens an output may be whitespace only (the caller did not ask for text)', () => {
    const out = new RequestOutput(tok, tok.encode('The end.'), [], undefined, {});
    for (let i = 0; i < 5; i++) out.append(byteId('\n'));
    expect(masked(out)).toEqual([]);
  });
});

describe('minTokens in the scheduler (a stand-in model that prefers EOS, then a newline)', () => {
  // Every position: EOS first, "\n" second, "T" third. The old minTokens (EOS held off for N
  // tokens only) ended this with "\n" alone: a whitespace-only alternative.
  const preferBlank: CausalLM = {
    entry: { id: 'blank', task: 'text-generation', contextLength: 64, vocabSize: V, numLayers: 1, numKeyValueHeads: 1, headDim: 2, eosTokenId: 2, padTokenId: 0, bosTokenId: 1 },
    shape: { numLayers: 1, heads: 1, headDim: 2 },
    vocabSize: V,
    toHost: async () => undefined, // a host-side cache already
    forward: async (inp: ForwardInput) => {
      const logits = new Float32Array(inp.rows * inp.seq * V);
      for (let r = 0; r < inp.rows * inp.seq; r++) {
        logits[r * V + 2] = 10;
        logits[r * V + byteId('\n')] = 9;
        logits[r * V + byteId('T')] = 1;
      }
      const len = inp.past.past + inp.seq;
      return { logits, logitsSeq: inp.seq, present: { rows: inp.rows, past: len, data: [new Float32Array(inp.rows * len * 2), new Float32Array(inp.rows * len * 2)] } };
    },
  } as unknown as CausalLM;
  const greedy = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 };
  const generate = (minTokens: number): Promise<GenerationResult> => {
    const s = new Scheduler(preferBlank, tok, { maxBatch: 2, maxQueue: 4 });
    return new Promise((resolve, reject) => s.add({ promptIds: tok.encode('The end.'), roomId: 'r', maxTokens: 8, sampling: greedy, seed: 1, stop: ['\n\n'], minTokens, onFinish: resolve, onError: reject }));
  };

  it('without minTokens EOS may come first (an empty output is the caller’s choice)', async () => {
    expect(await generate(0)).toMatchObject({ text: '', tokens: 0, finishReason: 'stop' });
  });

  it('with minTokens EOS waits for a visible character, and leading newlines stop at a paragraph break', async () => {
    expect(await generate(1)).toMatchObject({ text: '\n\nT', tokens: 3, finishReason: 'stop' });
  });
});

describe('on the built-in model', () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'cpu', maxBatch: 8, maxQueue: 64, logger: { info: () => {}, warn: () => {} } });
  });
  afterAll(async () => engine?.close());
  const greedy = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 };

  it('a prompt ending in a space continues as the same prompt without it would (greedy), less the space', async () => {
    // Mid-sentence prompts: after a full stop a model may rightly open a new paragraph instead.
    for (const prompt of ['Lily went to the park with her', 'Once upon a time, there was a little', 'The little fox looked at the moon and']) {
      const natural = await engine.generate({ prompt, roomId: 'h', maxTokens: 12, ...greedy }).result;
      expect(natural.text).toMatch(/^ \S/); // the case healing is for: the model opens with a space-led word
      const spaced = await engine.generate({ prompt: prompt + ' ', roomId: 'h', maxTokens: 12, ...greedy }).result;
      expect(spaced.text).toBe(natural.text.slice(1));
    }
  });

  it('sampled outputs after a trailing space open with a word, never a space', async () => {
    const prompt = 'Describe the scene in vivid detail.\n\nLily played in the park with her dog. ';
    const vocabSize = engine.models().find((m) => m.task === 'text-generation')!.vocabSize!;
    const ids = tokenClasses(engine.tokenizer(), vocabSize);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, seed) => {
        let first = -1;
        const stream = engine.generate({ prompt, roomId: `s${seed % 4}`, maxTokens: 8, seed, temperature: 0.9, topK: 50, topP: 0.95 });
        return (async () => {
          for await (const c of stream) if (first < 0) first = c.tokenId;
          return { text: (await stream.result).text, first };
        })();
      }),
    );
    for (const r of results) {
      expect(r.text).toMatch(/^\S/);
      expect(ids.spaceWord[r.first]).toBe(1);
    }
  });
});
