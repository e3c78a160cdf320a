/**
 * Real-model-shaped benchmark (issue 10; prints figures, not a timed test).
 *
 *   node --import tsx bench/real-model-bench.ts [--model DIR] [--dtype fp32|q4|both] [--tokens 32]
 *        [--prompt 32] [--repeat 2] [--threads N] [--vocab150k DIR | --no-vocab150k]
 *
 * The model is a Hugging Face folder served exactly as ENSEMBLE_TEXT_MODEL serves it (engine
 * option `textModel`); when DIR is missing it is built by models/recipes/build_bench_model.py
 * (random-weight Qwen2 shape: 8 layers, hidden 512, GQA 8/2, vocab 32768, ~58M parameters).
 *
 * For each dtype, one table row per 1, 4, 8, 16 concurrent streams:
 * - sequential: the same requests one after another through the scheduler;
 * - scheduler: all at once (continuous batching);
 * - raw ONNX: the same work with no scheduler — one prefill pass [B, prompt] and tokens-1 decode
 *   passes [B, 1], each pass's `present` fed back as the next `past` (CausalLM.forward, as
 *   bench/inference-bench.ts measures its decode steps), no sampling. Efficiency = scheduler / raw.
 * Requests use fixed seeds, equal-length prompts and `ignoreEos`, so every stream generates exactly
 * `tokens` tokens and the three columns do identical model work. Wall figures are the best of
 * `repeat` runs (the least disturbed on a shared machine); CPU ms/token is the process CPU time
 * (ORT threads do not spin, so CPU time is work) and is less sensitive to other load.
 *
 * Peak RSS of a prefill is measured in a child process (a fresh high-water mark): the engine is
 * loaded and warmed, the kernel's peak-RSS counter reset (/proc/self/clear_refs "5"), then one
 * prefill runs; the figure is VmHWM minus the RSS just before. For the 150k-vocabulary shape
 * (DIR/keep with num_logits_to_keep, DIR/full without) the prefill is 4 prompts × 512 tokens:
 * the scheduler's whole 2,048-token prefill budget in one pass.
 *
 * bench/inference-bench.ts runs its own main() when imported, so its measuring loops cannot be
 * imported; this file follows the same conventions (seeds, ignoreEos, CPU time, best-of).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../server/src/config';
import { InferenceEngine } from '../server/src/inference/engine';
import type { CausalLM, KVBatch } from '../server/src/inference/causal-lm';
import { emptyKV } from '../server/src/inference/causal-lm';
import type { TextDtype } from '../server/src/inference/hf-folder';
import { modelFile } from '../server/src/inference/manifest';
import { Rng } from '../server/src/inference/sampling';
import { timedGeneration, type TimedRun } from './generation';

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const modelDir = path.resolve(arg('model', '/tmp/ensemble-bench-model'));
const dtypeArg = arg('dtype', 'both');
const maxTokens = Number(arg('tokens', '32'));
const promptLen = Number(arg('prompt', '32'));
const repeat = Number(arg('repeat', '2'));
const threads = Number(arg('threads', '0')) || undefined;
const vocabDir = args.includes('--no-vocab150k') ? undefined : path.resolve(arg('vocab150k', '/tmp/ensemble-bench-vocab150k'));
const RECIPE = path.join(REPO_ROOT, 'models', 'recipes', 'build_bench_model.py');
const SELF = fileURLToPath(import.meta.url);
const STREAMS = [1, 4, 8, 16];
const SAMPLING = { temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1 };
const quiet = { info() {}, warn() {} };

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const mib = (bytes: number) => `${fmt(bytes / 2 ** 20, 0)} MiB`;
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** Fixed prompts: ordinary token ids (3 .. 398, the story BPE part of the vocabulary) after BOS. */
function prompt(i: number, len: number): number[] {
  const rng = new Rng(7000 + i);
  return [1, ...Array.from({ length: len - 1 }, () => 3 + (rng.nextU32() % 396))];
}

async function loadEngine(folder: string, dtype: TextDtype): Promise<InferenceEngine> {
  return InferenceEngine.load({
    modelsDir: path.join(REPO_ROOT, 'models'),
    textModel: folder,
    textDtype: dtype,
    device: 'cpu',
    maxBatch: 16,
    maxQueue: 256,
    threads,
    logger: quiet,
  });
}

function textLM(engine: InferenceEngine): CausalLM {
  // @ts-expect-error the scheduler's CausalLM (private), as bench/inference-bench.ts reads it
  return engine.scheduler().lm as CausalLM;
}

const generate = (engine: InferenceEngine, i: number, ids: number[], tokens: number, t0: number): Promise<TimedRun> =>
  timedGeneration(engine, { promptIds: ids, roomId: `room-${i}`, maxTokens: tokens, sampling: SAMPLING, seed: 1000 + i }, t0);

/** tokens/s and CPU ms per token of `fn`, which returns the number of tokens it generated. */
async function measure(fn: () => Promise<number>): Promise<{ tps: number; cpuMsPerToken: number; tokens: number }> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const tokens = await fn();
  const wall = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  return { tps: tokens / wall, cpuMsPerToken: (used.user + used.system) / 1000 / tokens, tokens };
}

/**
 * The scheduler-free ceiling: prefill [B, P] then tokens-1 decode passes, each pass's present
 * written into one of two preallocated buffer sets and fed back as the next past — what the batch
 * runner does between membership changes, minus scheduling, sampling and re-packing.
 */
async function rawGeneration(lm: CausalLM, B: number): Promise<number> {
  const P = promptLen;
  const { numLayers, heads, headDim } = lm.shape;
  const ids = new BigInt64Array(B * P);
  const pos = new BigInt64Array(B * P);
  for (let r = 0; r < B; r++) prompt(r, P).forEach((t, j) => ((ids[r * P + j] = BigInt(t)), (pos[r * P + j] = BigInt(j))));
  let out = await lm.forward({ rows: B, seq: P, inputIds: ids, attentionMask: new BigInt64Array(B * P).fill(1n), positionIds: pos, past: emptyKV(lm.shape, B) });
  let kv: KVBatch = out.present;
  const floats = B * heads * (P + maxTokens) * headDim;
  const half = lm.shape.kvType === 'float16';
  const pools = [0, 1].map(() => Array.from({ length: 2 * numLayers }, () => new ArrayBuffer(floats * (half ? 2 : 4))));
  for (let step = 1; step < maxTokens; step++) {
    const past = kv.past;
    const n = B * heads * (past + 1) * headDim;
    const views = pools[step % 2]!.map((b) => (half ? new Uint16Array(b, 0, n) : new Float32Array(b, 0, n)));
    out = await lm.forward(
      {
        rows: B,
        seq: 1,
        inputIds: new BigInt64Array(B).fill(5n),
        attentionMask: new BigInt64Array(B * (past + 1)).fill(1n),
        positionIds: new BigInt64Array(B).fill(BigInt(past)),
        past: kv,
      },
      views,
    );
    kv = out.present;
  }
  return B * maxTokens;
}

interface RssResult {
  baselineRss: number;
  peakAboveBaseline: number;
  prefillMs: number;
  logitsSeq: number;
}

/**
 * Child mode: load, warm, reset the peak-RSS counter, then one prefill pass of `rows` × `len`
 * tokens exactly as the batch runner makes it (CausalLM.forward with an empty past). Called directly,
 * not through the scheduler: requests added in one burst do not share the first prefill pass (see
 * the prefill-pass count in the main table), and this pass is the one whose logits matter.
 */
async function rssChild(folder: string, dtype: TextDtype, rows: number, len: number): Promise<void> {
  const engine = await loadEngine(folder, dtype);
  await generate(engine, 0, prompt(0, 8), 2, performance.now());
  const lm = textLM(engine);
  const ids = new BigInt64Array(rows * len);
  const pos = new BigInt64Array(rows * len);
  for (let r = 0; r < rows; r++) prompt(r, len).forEach((t, j) => ((ids[r * len + j] = BigInt(t)), (pos[r * len + j] = BigInt(j))));
  const status = () => fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (s: string, key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(s)![1]) * 1024;
  fs.writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
  const before = kb(status(), 'VmRSS');
  const t = performance.now();
  const out = await lm.forward({ rows, seq: len, inputIds: ids, attentionMask: new BigInt64Array(rows * len).fill(1n), positionIds: pos, past: emptyKV(lm.shape, rows) });
  const prefillMs = performance.now() - t;
  const peak = kb(status(), 'VmHWM');
  const result: RssResult = { baselineRss: before, peakAboveBaseline: peak - before, prefillMs, logitsSeq: out.logitsSeq };
  console.log(`RSS_RESULT ${JSON.stringify(result)}`);
  await engine.close();
}

function rssOf(folder: string, dtype: TextDtype, rows: number, len: number): RssResult {
  const child = spawnSync(process.execPath, ['--import', 'tsx', SELF, '--rss-child', folder, dtype, String(rows), String(len), ...(threads ? ['--threads', String(threads)] : [])], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const line = child.stdout.split('\n').find((l) => l.startsWith('RSS_RESULT '));
  if (!line) throw new Error(`peak-RSS child failed (${folder}, ${dtype}): ${child.stderr.slice(-2000)}`);
  return JSON.parse(line.slice('RSS_RESULT '.length)) as RssResult;
}

function ensureModel(dir: string, shape: 'bench' | 'vocab150k', probe: string): void {
  if (fs.existsSync(path.join(dir, probe))) return;
  console.log(`(building ${dir} with ${path.relative(REPO_ROOT, RECIPE)} --shape ${shape})`);
  const r = spawnSync('/usr/bin/python3', [RECIPE, '--out', dir, '--shape', shape], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${RECIPE} failed (exit ${r.status})`);
}

async function main(): Promise<void> {
  ensureModel(modelDir, 'bench', 'onnx/model.onnx');
  const cfg = JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as Record<string, number | string>;
  // `both` skips q4 for a folder that has no 4-bit file (a named --dtype that is missing fails at load, naming the file).
  const hasQ4 = ['model_q4.onnx', 'model_bnb4.onnx'].some((f) => fs.existsSync(path.join(modelDir, 'onnx', f)) || fs.existsSync(path.join(modelDir, f)));
  const dtypes: TextDtype[] = dtypeArg === 'both' ? (hasQ4 ? ['fp32', 'q4'] : ['fp32']) : [dtypeArg as TextDtype];
  console.log(`# real-model bench — ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load avg at start ${load()}`);
  console.log(
    `model ${modelDir}: ${cfg.model_type ?? '?'}, ${cfg.num_hidden_layers} layers, hidden ${cfg.hidden_size}, heads ${cfg.num_attention_heads}/${cfg.num_key_value_heads} KV, ` +
      `vocab ${cfg.vocab_size}; prompts ${promptLen} tokens, ${maxTokens} tokens per stream, sampling T=0.8 top-k 40 top-p 0.95 rep 1.1, ignoreEos; ` +
      `ORT intra-op threads ${threads ?? 'default'}; best of ${repeat}\n`,
  );
  const rows: string[] = [];
  const summary: string[] = [];
  for (const dtype of dtypes) {
    const engine = await loadEngine(modelDir, dtype);
    const entry = engine.manifest.models.find((m) => m.task === 'text-generation')!;
    const file = modelFile(engine.manifest, entry, 'model');
    const lm = textLM(engine);
    // Counts the scheduler's passes (a burst of requests is not always prefilled in one pass).
    const passes = { counting: false, prefill: 0, decode: 0 };
    const forward = lm.forward.bind(lm);
    lm.forward = (input, ...rest) => {
      if (passes.counting) passes[input.seq > 1 ? 'prefill' : 'decode']++;
      return forward(input, ...rest);
    };
    for (let i = 0; i < 2; i++) await generate(engine, i, prompt(i, promptLen), 4, performance.now()); // warm-up
    await rawGeneration(lm, 2);
    for (const c of STREAMS) {
      passes.prefill = passes.decode = 0;
      const best = { seq: { tps: 0, cpuMsPerToken: Infinity, tokens: 0 }, sch: { tps: 0, cpuMsPerToken: Infinity, tokens: 0 }, raw: { tps: 0, cpuMsPerToken: Infinity, tokens: 0 } };
      const keep = (k: keyof typeof best, m: { tps: number; cpuMsPerToken: number; tokens: number }) => {
        if (m.tps > best[k].tps) best[k] = { ...m, cpuMsPerToken: Math.min(m.cpuMsPerToken, best[k].cpuMsPerToken) };
        else best[k].cpuMsPerToken = Math.min(m.cpuMsPerToken, best[k].cpuMsPerToken);
      };
      for (let r = 0; r < repeat; r++) {
        keep('seq', await measure(async () => {
          let n = 0;
          for (let i = 0; i < c; i++) n += (await generate(engine, i, prompt(i, promptLen), maxTokens, performance.now())).tokens;
          return n;
        }));
        passes.counting = r === 0;
        keep('sch', await measure(async () => {
          const t = performance.now();
          const runs = await Promise.all(Array.from({ length: c }, (_, i) => generate(engine, i, prompt(i, promptLen), maxTokens, t)));
          return runs.reduce((s, x) => s + x.tokens, 0);
        }));
        passes.counting = false;
        keep('raw', await measure(() => rawGeneration(lm, c)));
      }
      const { seq, sch, raw } = best;
      rows.push(
        `| ${dtype} | ${c} | ${sch.tokens}${sch.tokens !== seq.tokens ? ` (seq ${seq.tokens})` : ''} | ${fmt(seq.tps)} | ${fmt(sch.tps)} | ${passes.prefill} + ${passes.decode} | ${fmt(sch.tps / seq.tps, 2)}× | ` +
          `${fmt(raw.tps)} | ${fmt((100 * sch.tps) / raw.tps, 0)}% | ${fmt((100 * raw.cpuMsPerToken) / sch.cpuMsPerToken, 0)}% | ${fmt(seq.cpuMsPerToken, 1)} → ${fmt(sch.cpuMsPerToken, 1)} (raw ${fmt(raw.cpuMsPerToken, 1)}) |`,
      );
      console.log(rows[rows.length - 1]);
    }
    const ttfts: number[] = [];
    for (let i = 0; i < 3; i++) ttfts.push((await generate(engine, i, prompt(i, 512), 2, performance.now())).ttftMs);
    await engine.close();
    const rss = rssOf(modelDir, dtype, 1, 512);
    summary.push(
      `| ${dtype} | ${mib(fs.statSync(file).size)} | ${fmt(Math.min(...ttfts), 0)} / ${fmt([...ttfts].sort((a, b) => a - b)[1]!, 0)} | ` +
        `${mib(rss.baselineRss)} | ${mib(rss.peakAboveBaseline)} |`,
    );
    console.log(summary[summary.length - 1]);
  }

  console.log(`\n## aggregate tokens/s (load avg now ${load()})\n`);
  console.log('| dtype | streams | tokens | sequential tok/s | scheduler tok/s | scheduler passes (prefill + decode) | speed-up | raw ONNX tok/s | efficiency (wall) | efficiency (CPU time) | CPU ms/token seq → scheduler |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
  console.log('\n## time to first token (512-token prompt, idle engine) and peak RSS of that prefill\n');
  console.log('| dtype | ONNX file | TTFT best / median of 3 (ms) | RSS after load | prefill peak above that |');
  console.log('|---|---:|---:|---:|---:|');
  for (const s of summary) console.log(s);

  if (vocabDir) {
    ensureModel(vocabDir, 'vocab150k', 'full/onnx/model.onnx');
    const v = JSON.parse(fs.readFileSync(path.join(vocabDir, 'full', 'config.json'), 'utf8')) as Record<string, number>;
    console.log(`\n## prefill peak memory, ${v.vocab_size}-token vocabulary (${v.num_hidden_layers} layers, hidden ${v.hidden_size}): 4 prompts × 512 tokens in one pass\n`);
    console.log('| graph | logits positions returned | RSS after load | prefill peak above that | prefill ms |');
    console.log('|---|---:|---:|---:|---:|');
    for (const [name, label] of [['keep', 'with num_logits_to_keep'], ['full', 'without (every position)']] as const) {
      const r = rssOf(path.join(vocabDir, name), 'fp32', 4, 512);
      console.log(`| ${label} | ${r.logitsSeq} per row | ${mib(r.baselineRss)} | ${mib(r.peakAboveBaseline)} | ${fmt(r.prefillMs, 0)} |`);
    }
  }
  console.log(`\nload avg at end ${load()}`);
}

if (args[0] === '--rss-child') {
  await rssChild(args[1]!, args[2] as TextDtype, Number(args[3]), Number(args[4]));
} else {
  await main();
}
