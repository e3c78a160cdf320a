/**
 * Inference benchmark (prints figures; not a timed test).
 *
 *   npx tsx bench/inference-bench.ts [--models DIR] [--tokens 64] [--repeat 2] [--kv repack-on-change|per-step|both] [--threads N] [--worker]
 *   npx tsx bench/inference-bench.ts --device webgpu|cuda [--tokens 16]   (only: that device vs CPU, bench/device-compare.ts)
 *
 * Single-stream tokens/s and time to first token; aggregate tokens/s with 1, 2, 4, 8, 16
 * concurrent requests through the scheduler versus the same requests run one after another;
 * embedding throughput; image latency. Requests use fixed seeds and `ignoreEos`, so every request
 * generates exactly maxTokens tokens and both sides do the same work (identical requests give
 * identical tokens batched or alone).
 *
 * On a shared machine wall-clock figures swing with other load, so the table also gives the
 * process CPU time per generated token (ORT threads do not spin by default, so CPU time is work).
 */
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { REPO_ROOT } from '../server/src/config';
import { InferenceEngine, type Inference } from '../server/src/inference/engine';
import { WorkerInferenceEngine } from '../server/src/inference/worker-engine';
import type { CausalLM } from '../server/src/inference/causal-lm';
import { compareDevices } from './device-compare';
import { PROMPTS, timedGeneration, type TimedRun } from './generation';

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const modelsDir = arg('models', process.env.ENSEMBLE_MODELS_DIR ?? path.join(REPO_ROOT, 'models'));
const maxTokens = Number(arg('tokens', '64'));
const repeat = Number(arg('repeat', '2'));
const kvArg = arg('kv', 'repack-on-change');
const threads = Number(arg('threads', '0')) || undefined;
const withWorker = args.includes('--worker');
const strategies = (kvArg === 'both' ? ['repack-on-change', 'per-step'] : [kvArg]) as Array<'repack-on-change' | 'per-step'>;


const one = (engine: InferenceEngine, i: number, t0: number): Promise<TimedRun> =>
  timedGeneration(
    engine,
    { promptIds: engine.tokenizer().encode(PROMPTS[i % PROMPTS.length]!), roomId: `room-${i % 4}`, maxTokens, sampling: { temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1 }, seed: 1000 + i },
    t0,
  );

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const device = arg('device', '');
  if (device === 'webgpu' || device === 'cuda') return compareDevices({ modelsDir, device, maxTokens, threads });
  if (device && device !== 'cpu') throw new Error(`--device must be webgpu, cuda or cpu, not "${device}"`);
  console.log(`# inference bench — ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load avg ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`models: ${modelsDir}; ORT intra-op threads ${threads ?? 'default'}; maxTokens ${maxTokens}; sampling T=0.8 top-k 40 top-p 0.95; repeat ${repeat} (median shown)\n`);

  for (const kvStrategy of strategies) {
    const engine = await InferenceEngine.load({ modelsDir, device: 'cpu', maxBatch: 16, maxQueue: 256, kvStrategy, threads, logger: { info() {}, warn() {} } });
    const lm = engine.models().find((m) => m.task === 'text-generation')!;
    console.log(`## text generation (${lm.id}, context ${lm.contextLength}), kvStrategy=${kvStrategy}\n`);
    for (let i = 0; i < 3; i++) await one(engine, i, performance.now()); // warm-up

    // The model's own ceiling: one raw decode forward pass at batch B (past 64), no scheduler.
    {
      // @ts-expect-error the scheduler's CausalLM
      const lm: CausalLM = engine.scheduler().lm;
      const { numLayers, heads, headDim } = lm.shape;
      const P = 64;
      const stepMs = async (B: number): Promise<number> => {
        const input = {
          rows: B,
          seq: 1,
          inputIds: new BigInt64Array(B).fill(5n),
          attentionMask: new BigInt64Array(B * (P + 1)).fill(1n),
          positionIds: new BigInt64Array(B).fill(BigInt(P)),
          past: { rows: B, past: P, data: Array.from({ length: 2 * numLayers }, () => new Float32Array(B * heads * P * headDim)) },
        };
        for (let i = 0; i < 5; i++) await lm.forward(input);
        const xs: number[] = [];
        for (let i = 0; i < 60; i++) {
          const t = performance.now();
          await lm.forward(input);
          xs.push(performance.now() - t);
        }
        // The minimum is the figure least disturbed by other load on a shared machine.
        return Math.min(...xs);
      };
      const t1 = await stepMs(1);
      const cells = [1, 8, 16].map((B) => B);
      const ts: number[] = [];
      for (const B of cells) ts.push(B === 1 ? t1 : await stepMs(B));
      console.log(
        `raw ONNX decode step (past 64, best of 60): ${cells.map((B, i) => `B=${B} ${fmt(ts[i]!, 2)} ms`).join(', ')} → ` +
          `model ceiling for batching: ${fmt((8 * t1) / ts[1]!, 2)}× at 8, ${fmt((16 * t1) / ts[2]!, 2)}× at 16\n`,
      );
    }

    // Single stream.
    const singles: TimedRun[] = [];
    for (let r = 0; r < repeat * 3; r++) singles.push(await one(engine, r, performance.now()));
    const decodeTps = singles.map((s) => (s.tokens - 1) / ((s.endMs - s.ttftMs) / 1000));
    console.log(
      `single stream: first token ${fmt(median(singles.map((s) => s.ttftMs)))} ms (median of ${singles.length}), ` +
        `decode ${fmt(median(decodeTps))} tok/s, end-to-end ${fmt(median(singles.map((s) => s.tokens / (s.endMs / 1000))))} tok/s\n`,
    );

    console.log('| concurrent | tokens | sequential tok/s | batched tok/s | speed-up (wall) | CPU ms/token seq → batched | speed-up (CPU) | batched TTFT mean / max (ms) | event-loop delay p99 / max (ms) |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const c of [1, 2, 4, 8, 16]) {
      const seqT: number[] = [];
      const batT: number[] = [];
      const ttfts: number[] = [];
      const ttftMax: number[] = [];
      const lag: Array<[number, number]> = [];
      const cpuS: number[] = [];
      const cpuB: number[] = [];
      const loop = monitorEventLoopDelay({ resolution: 1 });
      let tokS = 0;
      let tokB = 0;
      for (let r = 0; r < repeat; r++) {
        // One after another.
        let t = performance.now();
        let cpu = process.cpuUsage();
        tokS = 0;
        for (let i = 0; i < c; i++) tokS += (await one(engine, i, performance.now())).tokens;
        seqT.push(tokS / ((performance.now() - t) / 1000));
        let used = process.cpuUsage(cpu);
        cpuS.push((used.user + used.system) / 1000 / tokS);
        // All at once through the scheduler.
        t = performance.now();
        cpu = process.cpuUsage();
        loop.reset();
        loop.enable();
        const runs = await Promise.all(Array.from({ length: c }, (_, i) => one(engine, i, t)));
        loop.disable();
        used = process.cpuUsage(cpu);
        cpuB.push((used.user + used.system) / 1000 / runs.reduce((s, x) => s + x.tokens, 0));
        lag.push([loop.percentile(99) / 1e6, loop.max / 1e6]);
        tokB = runs.reduce((s, x) => s + x.tokens, 0);
        batT.push(tokB / ((performance.now() - t) / 1000));
        ttfts.push(runs.reduce((s, x) => s + x.ttftMs, 0) / c);
        ttftMax.push(Math.max(...runs.map((x) => x.ttftMs)));
      }
      const s = median(seqT);
      const b = median(batT);
      console.log(`| ${c} | ${tokB}${tokB !== tokS ? ` (seq ${tokS})` : ''} | ${fmt(s)} | ${fmt(b)} | ${fmt(b / s, 2)}× | ${fmt(median(cpuS), 2)} → ${fmt(median(cpuB), 2)} | ${fmt(median(cpuS) / median(cpuB), 2)}× | ${fmt(median(ttfts))} / ${fmt(median(ttftMax))} | ${fmt(median(lag.map((l) => l[0])))} / ${fmt(median(lag.map((l) => l[1])))} |`);
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

  if (withWorker) {
    // Same requests through the public API, in-process vs on the worker thread: what the rest of
    // the server feels is the event-loop delay.
    console.log('## in-process vs worker thread (engine.generate, 8 and 16 concurrent)\n');
    console.log('| engine | concurrent | batched tok/s | first chunk mean (ms) | event-loop delay p99 / max (ms) |');
    console.log('|---|---:|---:|---:|---:|');
    for (const kind of ['in-process', 'worker'] as const) {
      const opts = { modelsDir, device: 'cpu' as const, maxBatch: 16, maxQueue: 256, threads, logger: { info() {}, warn() {} } };
      const eng: Inference = kind === 'worker' ? await WorkerInferenceEngine.load(opts) : await InferenceEngine.load(opts);
      const gen = async (i: number, t0: number) => {
        const st = eng.generate({ prompt: PROMPTS[i % PROMPTS.length]!, roomId: `room-${i % 4}`, maxTokens, seed: 1000 + i, temperature: 0.8, ignoreEos: true });
        let first = -1;
        for await (const _ of st) if (first < 0) first = performance.now() - t0;
        return { tokens: (await st.result).tokens, first };
      };
      await Promise.all([0, 1].map((i) => gen(i, performance.now())));
      for (const c of [8, 16]) {
        const tps: number[] = [];
        const firsts: number[] = [];
        const lags: Array<[number, number]> = [];
        for (let r = 0; r < repeat; r++) {
          const loop = monitorEventLoopDelay({ resolution: 1 });
          loop.enable();
          const t = performance.now();
          const runs = await Promise.all(Array.from({ length: c }, (_, i) => gen(i, t)));
          tps.push(runs.reduce((a, x) => a + x.tokens, 0) / ((performance.now() - t) / 1000));
          loop.disable();
          firsts.push(runs.reduce((a, x) => a + x.first, 0) / c);
          lags.push([loop.percentile(99) / 1e6, loop.max / 1e6]);
        }
        console.log(`| ${kind} | ${c} | ${fmt(median(tps))} | ${fmt(median(firsts))} | ${fmt(median(lags.map((l) => l[0])))} / ${fmt(median(lags.map((l) => l[1])))} |`);
      }
      await eng.close();
    }
    console.log();
  }
}

await main();
