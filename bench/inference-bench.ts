/**
 * Inference benchmark (prints figures; not a timed test).
 *
 *   npx tsx bench/inference-bench.ts [--models DIR] [--tokens 64] [--repeat 2] [--kv repack-on-change|per-step|both]
 *
 * Single-stream tokens/s and time to first token; aggregate tokens/s with 1, 2, 4, 8, 16
 * concurrent requests through the scheduler versus the same requests run one after another;
 * embedding throughput; image latency. Requests use fixed seeds and ignore nothing: identical
 * requests generate identical tokens batched or alone, so both sides do the same work (EOS can end
 * a request early; the token totals are printed so the comparison stays honest).
 */
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { REPO_ROOT } from '../server/src/config';
import { InferenceEngine } from '../server/src/inference/engine';
import type { SequenceRequest } from '../server/src/inference/scheduler';

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const modelsDir = arg('models', process.env.ENSEMBLE_MODELS_DIR ?? path.join(REPO_ROOT, 'models'));
const maxTokens = Number(arg('tokens', '64'));
const repeat = Number(arg('repeat', '2'));
const kvArg = arg('kv', 'repack-on-change');
const strategies = (kvArg === 'both' ? ['repack-on-change', 'per-step'] : [kvArg]) as Array<'repack-on-change' | 'per-step'>;

const PROMPTS = [
  'Once upon a time, there was a little girl named Lily.',
  'The dragon looked at the castle and',
  'Tom and his dog went to the park. They',
  'In the morning the sun came up over the hills, and the birds',
  'She opened the old box and found',
  'The wind was cold.',
  'Ben wanted to build a boat, so he asked his dad',
  'Far away, in a forest full of tall trees, lived a small fox who',
];

interface Run {
  tokens: number;
  ttftMs: number;
  endMs: number;
}

function one(engine: InferenceEngine, i: number, t0: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    let first = -1;
    let n = 0;
    const req: SequenceRequest = {
      promptIds: engine.tokenizer().encode(PROMPTS[i % PROMPTS.length]!),
      roomId: `room-${i % 4}`,
      maxTokens,
      sampling: { temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1 },
      seed: 1000 + i,
      stop: [],
      onToken: () => {
        n++;
        if (first < 0) first = performance.now();
      },
      onFinish: () => resolve({ tokens: n, ttftMs: first - t0, endMs: performance.now() - t0 }),
      onError: reject,
    };
    engine.scheduler().add(req);
  });
}

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  console.log(`# inference bench — ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load avg ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`models: ${modelsDir}; maxTokens ${maxTokens}; sampling T=0.8 top-k 40 top-p 0.95; repeat ${repeat} (median shown)\n`);

  for (const kvStrategy of strategies) {
    const engine = await InferenceEngine.load({ modelsDir, device: 'cpu', maxBatch: 16, maxQueue: 256, kvStrategy, logger: { info() {}, warn() {} } });
    const lm = engine.models().find((m) => m.task === 'text-generation')!;
    console.log(`## text generation (${lm.id}, context ${lm.contextLength}), kvStrategy=${kvStrategy}\n`);
    for (let i = 0; i < 3; i++) await one(engine, i, performance.now()); // warm-up

    // Single stream.
    const singles: Run[] = [];
    for (let r = 0; r < repeat * 3; r++) singles.push(await one(engine, r, performance.now()));
    const decodeTps = singles.map((s) => (s.tokens - 1) / ((s.endMs - s.ttftMs) / 1000));
    console.log(
      `single stream: first token ${fmt(median(singles.map((s) => s.ttftMs)))} ms (median of ${singles.length}), ` +
        `decode ${fmt(median(decodeTps))} tok/s, end-to-end ${fmt(median(singles.map((s) => s.tokens / (s.endMs / 1000))))} tok/s\n`,
    );

    console.log('| concurrent | tokens | sequential tok/s | batched tok/s | speed-up | batched TTFT mean / max (ms) | event-loop delay p99 / max (ms) |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|');
    for (const c of [1, 2, 4, 8, 16]) {
      const seqT: number[] = [];
      const batT: number[] = [];
      const ttfts: number[] = [];
      const ttftMax: number[] = [];
      const lag: Array<[number, number]> = [];
      const loop = monitorEventLoopDelay({ resolution: 1 });
      let tokS = 0;
      let tokB = 0;
      for (let r = 0; r < repeat; r++) {
        // One after another.
        let t = performance.now();
        tokS = 0;
        for (let i = 0; i < c; i++) tokS += (await one(engine, i, performance.now())).tokens;
        seqT.push(tokS / ((performance.now() - t) / 1000));
        // All at once through the scheduler.
        t = performance.now();
        loop.reset();
        loop.enable();
        const runs = await Promise.all(Array.from({ length: c }, (_, i) => one(engine, i, t)));
        loop.disable();
        lag.push([loop.percentile(99) / 1e6, loop.max / 1e6]);
        tokB = runs.reduce((s, x) => s + x.tokens, 0);
        batT.push(tokB / ((performance.now() - t) / 1000));
        ttfts.push(runs.reduce((s, x) => s + x.ttftMs, 0) / c);
        ttftMax.push(Math.max(...runs.map((x) => x.ttftMs)));
      }
      const s = median(seqT);
      const b = median(batT);
      console.log(`| ${c} | ${tokB}${tokB !== tokS ? ` (seq ${tokS})` : ''} | ${fmt(s)} | ${fmt(b)} | ${fmt(b / s, 2)}× | ${fmt(median(ttfts))} / ${fmt(median(ttftMax))} | ${fmt(median(lag.map((l) => l[0])))} / ${fmt(median(lag.map((l) => l[1])))} |`);
    }
    console.log();

    if (kvStrategy === strategies[0]) {
      const emb = engine.models().find((m) => m.task === 'embedding');
      if (emb) {
        const texts = Array.from({ length: 256 }, (_, i) => `${PROMPTS[i % PROMPTS.length]} (${i})`);
        await engine.embed(texts.slice(0, 8));
        const rows: string[] = [];
        for (const batch of [1, 32, 256]) {
          const t = performance.now();
          let n = 0;
          while (n < 256) {
            await engine.embed(texts.slice(n, n + batch));
            n += batch;
          }
          rows.push(`batch ${batch}: ${fmt(256 / ((performance.now() - t) / 1000), 0)} texts/s`);
        }
        console.log(`## embedding (${emb.id}, ${emb.dims} dims): ${rows.join('; ')}`);
      }
      const img = engine.models().find((m) => m.task === 'image-generation');
      if (img) {
        await engine.generateImage({ prompt: 'warm up', seed: 0 });
        const times: number[] = [];
        for (let i = 0; i < 10; i++) {
          const t = performance.now();
          await engine.generateImage({ prompt: `a cat under the moon ${i}`, seed: i });
          times.push(performance.now() - t);
        }
        console.log(`## image (${img.id}, ${img.imageSize}px → 128px PNG): median ${fmt(median(times))} ms, max ${fmt(Math.max(...times))} ms (10 prompts)`);
      }
      console.log();
    }
    await engine.close();
  }
}

await main();
