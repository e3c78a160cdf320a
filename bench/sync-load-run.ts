/**
 * The load of issue 14, shared by bench/sync-load.ts (one process against the bare server) and
 * bench/sync-scale.ts (1, 2, 3 processes over Redis): rooms with one writer and many readers,
 * run in forked client processes (bench/sync-load-clients.ts), keystroke-to-reader latency and
 * the servers' CPU per delivered update.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cpuSeconds } from './proc';
import { REPO_ROOT, sleep } from './sync-common';

/** One room as the client processes see it; client j of the room connects to syncUrls[(offset + j) % n] (j = 0: the writer). */
export interface RoomSpec {
  room: string;
  token: string;
  readers: number;
  offset: number;
}

/** What one client process reports after the measured phase. */
export interface ClientResult {
  latencies: number[];
  delivered: number;
  expected: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

/** Parent → client process messages (bench/sync-load-clients.ts). */
export type ToClients = { kind: 'setup'; syncUrls: string[]; rooms: RoomSpec[] } | { kind: 'go'; seconds: number; rate: number };

/** `--name N` from argv, else `fallback`. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a non-negative number, got ${process.argv[i + 1]}`);
  return value;
}

/** `--name value` from argv, else undefined. */
export function stringArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

export const loadAverage = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function onceMessage<T>(child: ChildProcess, kind: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: { kind: string }) => {
      if (msg.kind !== kind) return;
      child.off('message', onMessage);
      resolve(msg as T);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`client process exited (${code}) before '${kind}'`)));
  });
}

/** Splits `clients` over the rooms named (one writer each, the rest readers); room i's clients start at process i. */
export function spread(names: Array<{ room: string; token: string }>, clients: number): RoomSpec[] {
  return names.map((n, i) => ({ ...n, offset: i, readers: Math.floor(clients / names.length) - 1 + (i < clients % names.length ? 1 : 0) }));
}

export interface PhaseOptions {
  /** Where clients connect, round-robin (see RoomSpec.offset). */
  syncUrls: string[];
  /** The server processes whose CPU is summed. */
  serverPids: number[];
  /** Other processes whose CPU is reported apart (Redis, MongoDB), by label. */
  sidePids?: Record<string, number>;
  rooms: RoomSpec[];
  clientProcs: number;
  seconds: number;
  rate: number;
}

export interface PhaseResult {
  latencies: number[];
  delivered: number;
  expected: number;
  /** CPU seconds of serverPids over the measured phase, summed. */
  serverCpu: number;
  /** The same for each of serverPids. */
  serverCpuEach: number[];
  sideCpu: Record<string, number>;
  clientLag: string;
}

/** Runs one measured phase: rooms spread over `clientProcs` client processes. */
export async function runPhase(options: PhaseOptions): Promise<PhaseResult> {
  const { rooms, syncUrls } = options;
  const children = Array.from({ length: Math.min(options.clientProcs, rooms.length) }, () =>
    fork(path.join(REPO_ROOT, 'bench/sync-load-clients.ts'), [], { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const ready = children.map((c) => onceMessage(c, 'ready'));
  children.forEach((child, i) => child.send({ kind: 'setup', syncUrls, rooms: rooms.filter((_, r) => r % children.length === i) } satisfies ToClients));
  await Promise.all(ready);
  await sleep(2000); // let the joins settle
  const results = children.map((c) => onceMessage<ClientResult>(c, 'result'));
  const sides = Object.entries(options.sidePids ?? {});
  const serverBefore = options.serverPids.map(cpuSeconds);
  const sideBefore = sides.map(([, pid]) => cpuSeconds(pid));
  for (const child of children) child.send({ kind: 'go', seconds: options.seconds, rate: options.rate } satisfies ToClients);
  const all = await Promise.all(results);
  const serverCpuEach = options.serverPids.map((pid, i) => cpuSeconds(pid) - serverBefore[i]!);
  const sideCpu = Object.fromEntries(sides.map(([label, pid], i) => [label, cpuSeconds(pid) - sideBefore[i]!]));
  return {
    latencies: all.flatMap((r) => r.latencies).sort((a, b) => a - b),
    delivered: all.reduce((n, r) => n + r.delivered, 0),
    expected: all.reduce((n, r) => n + r.expected, 0),
    serverCpu: serverCpuEach.reduce((a, b) => a + b, 0),
    serverCpuEach,
    sideCpu,
    clientLag: all.map((r) => `${r.lagP99Ms.toFixed(0)}/${r.lagMaxMs.toFixed(0)}`).join(' '),
  };
}

/** The latency and CPU columns every load table prints. */
export function latencyColumns(result: PhaseResult): Record<string, string> {
  const { latencies, delivered } = result;
  return {
    'p50 (ms)': percentile(latencies, 50).toFixed(1),
    'p95 (ms)': percentile(latencies, 95).toFixed(1),
    'p99 (ms)': percentile(latencies, 99).toFixed(1),
    'max (ms)': (latencies.at(-1) ?? NaN).toFixed(1),
    delivered: `${delivered}/${result.expected}`,
    'server CPU s': result.serverCpu.toFixed(1),
    'CPU µs/update': ((result.serverCpu / Math.max(1, delivered)) * 1e6).toFixed(1),
  };
}
