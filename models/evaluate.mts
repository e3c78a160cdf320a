// Compares two sets of built-in models (e.g. main's and this checkout's) through the runtime itself
// (InferenceEngine, its tokenizers and samplers, onnxruntime-node).
//
//   /usr/bin/python3 models/recipes/eval_data.py          # once: held-out texts, word list, glyphs
//   npx tsx models/evaluate.mts --old /tmp/old/models --new models [--out models/evaluation]
//
// Story LM: bits per character on today's held-out split (TinyStories/Sherlock/Shakespeare tails)
// and on the 8 held-out books; real-word rate of 20 prompts x 10 seeds sampled with the agent's
// settings (DEFAULT_GENERATION). Image model: 20 captions x 4 seeds, mean RMS pixel distance between
// seeds of one caption vs between captions; each emoji name -> nearest training glyph (top-1).
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { InferenceEngine } from '../server/src/inference/engine.ts';
import { Rng } from '../server/src/inference/sampling.ts';
import { encodePngRgb } from '../server/src/inference/png.ts';
import { DEFAULT_GENERATION } from '../server/src/agent/proposal-service.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'server', 'package.json'));
const ort = require('onnxruntime-node');
const tk = require('@huggingface/tokenizers');
const CACHE = path.join(here, '.cache', 'eval');

const { values: opts } = parseArgs({
  options: {
    old: { type: 'string' },
    new: { type: 'string', default: path.join(here) },
    out: { type: 'string', default: path.join(here, 'evaluation') },
    sheet: { type: 'string', default: path.join(here, '..', 'test-artifacts', 'model-eval', 'contact-sheet.png') },
    threads: { type: 'string', default: '1' },
    quick: { type: 'boolean', default: false }, // a smoke run of this script: few documents, seeds and names
    // 'old' evaluates only --old and keeps its figures in <out>/old.json; a later 'new' run reuses them
    // (same script, same host, so the comparison stays like for like; 'both' does it in one go)
    phase: { type: 'string', default: 'both' },
  },
});
if (!opts.old) throw new Error('--old <models folder> is required (e.g. main\'s models/ copied to /tmp)');
const THREADS = Number(opts.threads);

export const PROMPTS = [
  'Once upon a time, in a small village by the sea,',
  'The old lighthouse keeper climbed the stairs and',
  'Mia found a strange key under her pillow.',
  'The dragon was tired of being feared by everyone.',
  'It was the last day of summer, and Tom',
  'Deep in the forest, the fox and the rabbit',
  'The detective looked at the muddy footprints and said,',
  'When the ship finally reached the island,',
  'Grandmother opened the dusty box and',
  'The little robot wanted to learn how to paint.',
  'Nobody in the town had ever seen snow before.',
  'The king called his three daughters to the hall.',
  'Sam and his dog ran down to the river,',
  'The door at the end of the hall was always locked.',
  'On the first day at the new school, Lily',
  'The wind howled across the moor as the traveller',
  'Once there was a bear who could not sleep.',
  'The princess looked out of the tower window and saw',
  'At midnight the toys in the shop began to move.',
  'The letter had no name on it, only a drawing of a star.',
];
const SEEDS = opts.quick ? [1] : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
export const CAPTIONS = [
  'a cat', 'a dog', 'a red heart', 'the sun', 'the moon', 'a tree', 'fire', 'a car', 'a happy face', 'a flower',
  'a bird', 'a star', 'a house', 'a fish', 'music', 'a boat', 'rain', 'a book', 'an apple', 'a ball',
];
const IMAGE_SEEDS = [1, 2, 3, 4];

const quiet = { info() {}, warn() {} };
const readJson = <T,>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;

/** Bits per character: every text token of `docs` predicted by the model (`<s> doc </s>` concatenated,
 * non-overlapping 256-token windows, as in training); <s>/</s> targets are not counted, characters are
 * Unicode code points of the documents. */
async function bitsPerChar(folder: string, docs: string[]): Promise<{ bpc: number; tokens: number; chars: number }> {
  const cfg = readJson<Record<string, number>>(path.join(folder, 'config.json'));
  const tok = new tk.Tokenizer(readJson(path.join(folder, 'tokenizer.json')), readJson(path.join(folder, 'tokenizer_config.json')));
  const session = await ort.InferenceSession.create(path.join(folder, 'onnx', 'model.onnx'), { intraOpNumThreads: THREADS, interOpNumThreads: 1 });
  const stream: number[] = [];
  let chars = 0;
  for (const d of docs) {
    stream.push(1, ...tok.encode(d, { add_special_tokens: false }).ids, 2);
    chars += [...d].length;
  }
  const T = Math.min(256, cfg.max_position_embeddings);
  const V = cfg.vocab_size, L = cfg.num_hidden_layers, H = cfg.num_key_value_heads, D = cfg.hidden_size / cfg.num_attention_heads;
  const windows: number[][] = [];
  for (let s = 0; s < stream.length - 1; s += T) windows.push(stream.slice(s, s + T + 1));
  let nats = 0, tokens = 0;
  const B = 8;
  for (let i = 0; i < windows.length; ) {
    const len = windows[i]!.length;
    const group: number[][] = [];
    while (i < windows.length && group.length < B && windows[i]!.length === len) group.push(windows[i++]!);
    const n = len - 1, b = group.length;
    const ids = BigInt64Array.from(group.flatMap((w) => w.slice(0, n).map(BigInt)));
    const feeds: Record<string, unknown> = {
      input_ids: new ort.Tensor('int64', ids, [b, n]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(b * n).fill(1n), [b, n]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: b * n }, (_, k) => BigInt(k % n)), [b, n]),
    };
    for (let l = 0; l < L; l++) for (const kv of ['key', 'value']) feeds[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [b, H, 0, D]);
    const out = await session.run(feeds, ['logits']);
    const logits = out.logits.data as Float32Array;
    for (let r = 0; r < b; r++) {
      for (let t = 0; t < n; t++) {
        const y = group[r]![t + 1]!;
        if (y === 1 || y === 2) continue;
        const o = (r * n + t) * V;
        let mx = -Infinity;
        for (let v = 0; v < V; v++) if (logits[o + v]! > mx) mx = logits[o + v]!;
        let se = 0;
        for (let v = 0; v < V; v++) se += Math.exp(logits[o + v]! - mx);
        nats += mx + Math.log(se) - logits[o + y]!;
        tokens++;
      }
    }
  }
  await session.release();
  return { bpc: nats / Math.LN2 / chars, tokens, chars };
}

function loadVocabulary(): Set<string> {
  const words = new Set<string>(readFileSync(path.join(CACHE, 'train_words.txt'), 'utf8').split('\n').filter(Boolean));
  for (const w of readFileSync('/usr/share/dict/words', 'utf8').split('\n')) for (const p of w.toLowerCase().match(/[a-z]+/g) ?? []) words.add(p);
  return words;
}

async function samples(engine: InferenceEngine): Promise<{ prompt: string; seed: number; text: string }[]> {
  const { maxTokens, temperature, topK, topP, repetitionPenalty, stop, minTokens } = DEFAULT_GENERATION;
  const out = [];
  for (const prompt of PROMPTS) {
    for (const seed of SEEDS) {
      const r = await engine.generate({ prompt, roomId: 'eval', seed, maxTokens, temperature, topK, topP, repetitionPenalty, stop, minTokens }).result;
      out.push({ prompt, seed, text: r.text });
    }
  }
  return out;
}

function realWordRate(texts: string[], vocab: Set<string>): { words: number; real: number; invented: string[] } {
  let words = 0, real = 0;
  const invented: string[] = [];
  for (const t of texts) {
    for (const w of t.toLowerCase().match(/[a-z]+/g) ?? []) {
      words++;
      if (vocab.has(w)) real++;
      else invented.push(w);
    }
  }
  return { words, real: real / Math.max(1, words), invented };
}

const noiseOf = (seed: number, dims: number): Float32Array => {
  const rng = new Rng(seed >>> 0);
  return Float32Array.from({ length: dims }, () => rng.normal());
};
const rms = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s / a.length);
};

async function imageChecks(engine: InferenceEngine) {
  const info = engine.models().find((m) => m.task === 'image-generation')!;
  const S = info.imageSize!, dims = (info as { noiseDims?: number }).noiseDims ?? 32;
  const grid: Float32Array[][] = [];
  for (const c of CAPTIONS) {
    const [emb] = await engine.embed([c], { model: info.conditioningModel });
    grid.push(await Promise.all(IMAGE_SEEDS.map((s) => engine.imageTensor({ textEmbedding: emb!, noise: noiseOf(s, dims), model: info.id }))));
  }
  let within = 0, nw = 0, between = 0, nb = 0;
  for (const row of grid) for (let a = 0; a < row.length; a++) for (let b = a + 1; b < row.length; b++) { within += rms(row[a]!, row[b]!); nw++; }
  for (let i = 0; i < grid.length; i++) for (let j = i + 1; j < grid.length; j++) for (let s = 0; s < IMAGE_SEEDS.length; s++) { between += rms(grid[i]![s]!, grid[j]![s]!); nb++; }
  // retrieval: every emoji name as the caption -> nearest training glyph at the model's resolution
  const allNames = readJson<string[]>(path.join(CACHE, 'emoji_names.json'));
  const names = opts.quick ? allNames.slice(0, 40) : allNames;
  const raw = readFileSync(path.join(CACHE, `emoji${S}.u8`));
  const P = 3 * S * S;
  const train = names.map((_, n) => {
    const chw = new Float32Array(P);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) chw[(c * S + y) * S + x] = raw[n * P + (y * S + x) * 3 + c]! / 255;
    return chw;
  });
  const embs = await engine.embed(names, { model: info.conditioningModel });
  const top1 = async (noise: (i: number) => Float32Array): Promise<number> => {
    let hits = 0;
    for (let i = 0; i < names.length; i++) {
      const img = await engine.imageTensor({ textEmbedding: embs[i]!, noise: noise(i), model: info.id });
      let best = -1, bd = Infinity;
      for (let j = 0; j < train.length; j++) {
        const t = train[j]!;
        let d = 0;
        for (let k = 0; k < P && d < bd; k++) d += (img[k]! - t[k]!) ** 2;
        if (d < bd) { bd = d; best = j; }
      }
      if (best === i) hits++;
    }
    return hits / names.length;
  };
  return {
    imageSize: S,
    withinCaption: within / nw,
    betweenCaptions: between / nb,
    ratio: within / nw / (between / nb),
    retrievalTop1Noise0: await top1(() => new Float32Array(dims)),
    retrievalTop1Seeded: await top1((i) => noiseOf(1000 + i, dims)),
    grid,
  };
}

async function evaluateModels(folder: string) {
  const held = readJson<{ small: Record<string, string[]>; books: string[] }>(path.join(CACHE, 'heldout.json'));
  const lm = path.join(folder, 'story-lm');
  const small = await bitsPerChar(lm, Object.values(held.small).flat());
  const perCorpus = Object.fromEntries(await Promise.all(Object.entries(held.small).map(async ([k, d]) => [k, (await bitsPerChar(lm, d)).bpc])));
  const books = await bitsPerChar(lm, opts.quick ? held.books.slice(0, 10) : held.books);
  const engine = await InferenceEngine.load({ modelsDir: folder, device: 'cpu', threads: THREADS, logger: quiet });
  try {
    const gen = await samples(engine);
    const images = await imageChecks(engine);
    return { small, perCorpus, books, gen, images };
  } finally {
    await engine.close();
  }
}

function contactSheet(oldGrid: Float32Array[][], oldS: number, newGrid: Float32Array[][], newS: number, file: string) {
  const tile = Math.max(oldS, newS), cols = IMAGE_SEEDS.length, gap = 8;
  const W = 2 * cols * tile + gap, H = CAPTIONS.length * tile;
  const rgb = new Uint8Array(W * H * 3).fill(255);
  const put = (img: Float32Array, S: number, x0: number, y0: number) => {
    for (let y = 0; y < tile; y++) for (let x = 0; x < tile; x++) {
      const sy = Math.floor((y * S) / tile), sx = Math.floor((x * S) / tile);
      for (let c = 0; c < 3; c++) rgb[((y0 + y) * W + x0 + x) * 3 + c] = Math.round(Math.min(1, Math.max(0, img[(c * S + sy) * S + sx]!)) * 255);
    }
  };
  CAPTIONS.forEach((_, r) => IMAGE_SEEDS.forEach((_, s) => {
    put(oldGrid[r]![s]!, oldS, s * tile, r * tile);
    put(newGrid[r]![s]!, newS, cols * tile + gap + s * tile, r * tile);
  }));
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, encodePngRgb(rgb, W, H));
}

const vocab = loadVocabulary();
const t0 = Date.now();
type Result = Awaited<ReturnType<typeof evaluateModels>>;
const oldCache = path.join(opts.out!, 'old.json');
const serialise = (r: Result) => JSON.stringify({ ...r, folder: path.resolve(opts.old), images: { ...r.images, grid: r.images.grid.map((row) => row.map((g) => Array.from(g))) } });
const revive = (j: Result & { images: { grid: number[][][] } }): Result => ({ ...j, images: { ...j.images, grid: j.images.grid.map((row) => row.map((g) => Float32Array.from(g))) } });
if (!['old', 'new', 'both'].includes(opts.phase!)) throw new Error('--phase is old, new or both');
let old: Result;
if (opts.phase === 'new') {
  const cached = readJson<Result & { folder: string; images: { grid: number[][][] } }>(oldCache);
  if (cached.folder !== path.resolve(opts.old)) throw new Error(`${oldCache} holds ${cached.folder}, not ${opts.old}: run --phase old first`);
  old = revive(cached);
} else {
  old = await evaluateModels(path.resolve(opts.old));
  mkdirSync(opts.out!, { recursive: true });
  writeFileSync(oldCache, serialise(old));
  if (opts.phase === 'old') {
    console.log(`old models evaluated in ${Math.round((Date.now() - t0) / 1000)} s; figures kept in ${oldCache}`);
    process.exit(0);
  }
}
const neu = await evaluateModels(path.resolve(opts.new!));
const rate = (r: typeof old) => realWordRate(r.gen.map((g) => g.text), vocab);
const [ro, rn] = [rate(old), rate(neu)];
const f = (x: number, d = 3) => x.toFixed(d);
const rows: [string, string, string, string, string][] = [
  ['bits/char, today\'s held-out split (TinyStories+Sherlock+Shakespeare)', f(old.small.bpc), f(neu.small.bpc), f(neu.small.bpc / old.small.bpc, 2), '<= 0.80'],
  ...Object.keys(old.perCorpus).map((k): [string, string, string, string, string] => [`  bits/char, ${k}`, f(old.perCorpus[k]), f(neu.perCorpus[k]), f(neu.perCorpus[k] / old.perCorpus[k], 2), '']),
  ['bits/char, 8 held-out books', f(old.books.bpc), f(neu.books.bpc), f(neu.books.bpc / old.books.bpc, 2), '<= 0.70'],
  [`invented-word rate (${PROMPTS.length}x${SEEDS.length} samples, agent settings)`, f(1 - ro.real), f(1 - rn.real), f((1 - rn.real) / (1 - ro.real), 2), '<= 0.50'],
  ['image: within-caption / between-caption pixel distance', f(old.images.ratio), f(neu.images.ratio), '', '>= 0.30'],
  ['image: name -> nearest training glyph, top-1 (zero noise)', f(old.images.retrievalTop1Noise0), f(neu.images.retrievalTop1Noise0), '', ''],
  ['image: name -> nearest training glyph, top-1 (seeded noise)', f(old.images.retrievalTop1Seeded), f(neu.images.retrievalTop1Seeded), '', ''],
];
const table = ['| measure | old | new | new/old | goal |', '|---|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
console.log(table);
mkdirSync(opts.out!, { recursive: true });
const strip = ({ grid: _g, ...rest }: typeof old.images) => rest;
writeFileSync(path.join(opts.out!, 'results.json'), JSON.stringify({
  note: 'written by models/evaluate.mts; old = --old folder, new = --new folder',
  seconds: Math.round((Date.now() - t0) / 1000),
  old: { heldoutSmall: old.small, perCorpus: old.perCorpus, books: old.books, words: ro.words, realWordRate: ro.real, images: strip(old.images) },
  new: { heldoutSmall: neu.small, perCorpus: neu.perCorpus, books: neu.books, words: rn.words, realWordRate: rn.real, images: strip(neu.images) },
  inventedExamples: { old: [...new Set(ro.invented)].slice(0, 40), new: [...new Set(rn.invented)].slice(0, 40) },
  table,
}, null, 1) + '\n');
const verbatim = (r: typeof old) => r.gen.filter((g) => g.seed === 1).map((g) => `### ${g.prompt}\n${g.prompt}${g.text}\n`).join('\n');
writeFileSync(path.join(opts.out!, 'samples-new.md'), `# New story LM: 20 samples (seed 1, agent settings), verbatim\n\n${verbatim(neu)}`);
writeFileSync(path.join(opts.out!, 'samples-old.md'), `# Old story LM: the same 20 prompts (seed 1, agent settings), verbatim\n\n${verbatim(old)}`);
contactSheet(old.images.grid, old.images.imageSize, neu.images.grid, neu.images.imageSize, opts.sheet!);
console.log(`wrote ${opts.out}/results.json, samples-new.md, samples-old.md and ${opts.sheet} in ${Math.round((Date.now() - t0) / 1000)} s`);
