/**
 * In-process engine vs a remote inference worker over loopback (prints figures; not a timed test).
 *
 *   node --import tsx bench/remote-inference.ts [--streams 8] [--tokens 64] [--rounds 6] [--threads N] [--interval MS]
 *
 * Both sides are what a process of each role runs: `all` loads the models on a worker thread
 * (WorkerInferenceEngine); `sync` talks to an `ENSEMBLE_ROLE=inference` process through
 * RemoteInference (the official openai client, SSE over HTTP). Each round runs `streams` concurrent
 * generations of exactly `tokens` tokens (fixed seeds, ignoreEos) on each side, alternating which
 * side goes first; the table gives time to first token p50/p95 over every stream of every round,
 * the aggregate tokens/s (median of rounds; a round's wall time includes its first tokens) and the
 * decode rate (each stream's tokens after its first over the time between its first and last text,
 * summed over streams), with the remote/in-process differences.
 * The worker is a separate process on the same 2 cores: it competes with the bench process for
 * CPU exactly as an `all` process's engine thread competes with its event loop. Wall-clock figures
 * swing with other load on a shared machine; CPU time per generated token (this process, plus the
 * worker process for the remote side) does not, and shows what serving over HTTP costs.
 */
import os from 'node:os';
import { REPO_ROOT } from '../server/src/config';
import { WorkerInferenceEngine, type Inference } from '../server/src/inference/index';
import { RemoteInference } from '../server/src/remote-inference/index';
import { spawnServer } from '../test/helpers/process';
import { PROMPTS } from './generation';
import { cpuSeconds } from './proc';

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const streams = Number(arg('streams', '8'));
const maxTokens = Number(arg('tokens', '64'));
const rounds = Number(arg('rounds', '6'));
/** ORT intra-op threads of both engines (default: ORT's choice, every core). */
const threads = arg('threads', '');
/** The worker's ENSEMBLE_API_STREAM_INTERVAL_MS (0: one SSE event per token; a worker's default is 20). */
const interval = arg('interval', '20');
const quiet = { info() {}, warn() {} };
const KEY = 'sk-bench';

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const median = (xs: number[]) => percentile(xs, 50);

interface Round {
  ttftMs: number[];
  tokensPerSec: number;
  /** Sum over streams of (tokens − 1) / (last text − first text): the decode rate, time to first token left out. */
  decodeTokensPerSec: number;
  cpuUsPerToken: number;
}

async function round(engine: Inference, seedBase: number, pids: number[]): Promise<Round> {
  const cpu = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const cpuBefore = cpu();
  const started = performance.now();
  let tokens = 0;
  const ttftMs: number[] = [];
  let decodeTokensPerSec = 0;
  await Promise.all(
    Array.from({ length: streams }, async (_, i) => {
      const t0 = performance.now();
      const stream = engine.generate({ prompt: PROMPTS[i % PROMPTS.length]!, roomId: `room-${i}`, maxTokens, ignoreEos: true, temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1, seed: seedBase + i });
      let firstAt = 0;
      let lastAt = 0;
      for await (const _chunk of stream) {
        lastAt = performance.now();
        if (!firstAt) {
          firstAt = lastAt;
          ttftMs.push(firstAt - t0);
        }
      }
      const n = (await stream.result).tokens;
      tokens += n;
      if (lastAt > firstAt) decodeTokensPerSec += (n - 1) / ((lastAt - firstAt) / 1000);
    }),
  );
  return { ttftMs, tokensPerSec: tokens / ((performance.now() - started) / 1000), decodeTokensPerSec, cpuUsPerToken: ((cpu() - cpuBefore) * 1e6) / tokens };
}

async function main(): Promise<void> {
  console.log(`# remote inference bench — ${os.cpus().length} CPUs, load avg ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`${streams} concurrent streams × ${maxTokens} tokens (ignoreEos, fixed seeds), ${rounds} rounds per side, alternating; worker stream interval ${interval} ms\n`);
  const worker = await spawnServer({ ENSEMBLE_ROLE: 'inference', ENSEMBLE_DISABLE_AI: 'false', ENSEMBLE_API_KEYS: KEY, ENSEMBLE_DEVICE: 'cpu', ENSEMBLE_MAX_BATCH: '16', ENSEMBLE_API_STREAM_INTERVAL_MS: interval, ...(threads ? { ENSEMBLE_THREADS: threads } : {}) }, { timeoutMs: 60_000 });
  const local = await WorkerInferenceEngine.load({ modelsDir: `${REPO_ROOT}/models`, device: 'cpu', maxBatch: 16, maxQueue: 256, logger: quiet, ...(threads ? { threads: Number(threads) } : {}) });
  const remote = await RemoteInference.connect({ text: { urls: [`${worker.url}/v1`], apiKey: KEY }, chat: 'auto', extendedSampling: true, stallMs: 30_000, healthMs: 60_000, logger: quiet });
  try {
    // Warm both (first prefill, JIT, connection pool).
    const pids = { 'in-process': [process.pid], remote: [process.pid, worker.child.pid!] };
    await round(local, 1, pids['in-process']);
    await round(remote, 1, pids.remote);
    const results: Record<'in-process' | 'remote', Round[]> = { 'in-process': [], remote: [] };
    for (let r = 0; r < rounds; r++) {
      const order: Array<'in-process' | 'remote'> = r % 2 === 0 ? ['in-process', 'remote'] : ['remote', 'in-process'];
      for (const side of order) results[side].push(await round(side === 'remote' ? remote : local, 100 * r, pids[side]));
    }
    const row = (side: 'in-process' | 'remote') => {
      const ttft = results[side].flatMap((x) => x.ttftMs);
      return {
        ttftP50: percentile(ttft, 50),
        ttftP95: percentile(ttft, 95),
        tps: median(results[side].map((x) => x.tokensPerSec)),
        decode: median(results[side].map((x) => x.decodeTokensPerSec)),
        cpu: median(results[side].map((x) => x.cpuUsPerToken)),
      };
    };
    const a = row('in-process');
    const b = row('remote');
    const cells = (x: typeof a) => ({ 'TTFT p50 (ms)': x.ttftP50.toFixed(1), 'TTFT p95 (ms)': x.ttftP95.toFixed(1), [`tokens/s (${streams} streams)`]: x.tps.toFixed(0), 'decode tokens/s': x.decode.toFixed(0), 'CPU µs/token': x.cpu.toFixed(0) });
    console.table({ 'in-process (ENSEMBLE_ROLE=all)': cells(a), 'sync → inference (loopback)': cells(b) });
    console.log(`first-token overhead: p50 ${(b.ttftP50 - a.ttftP50).toFixed(1)} ms (goal ≤ 10), p95 ${(b.ttftP95 - a.ttftP95).toFixed(1)} ms`);
    console.log(`throughput remote / in-process: ${(b.tps / a.tps).toFixed(3)} (goal ≥ 0.90); decode only (first token left out): ${(b.decode / a.decode).toFixed(3)}`);
    console.log(`CPU per token remote / in-process: ${(b.cpu / a.cpu).toFixed(2)} (both processes; the HTTP path's own cost is the difference, ${(b.cpu - a.cpu).toFixed(0)} µs)`);
  } finally {
    await remote.close();
    await local.close();
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
