/**
 * Many rooms under steady typing, Ensemble (one process, SQLite) against the bare
 * `@y/websocket-server`, in one run.
 *
 *   node --import tsx bench/sync-load.ts [--clients 2000] [--rooms 100] [--seconds 30]
 *        [--rate 2] [--procs 2] [--fanout-readers 100] [--fanout-rate 5] [--only ensemble|bare]
 *
 * Load: `clients` stock y-websocket clients in `rooms` rooms; in each room one writer types
 * `rate` keystrokes/s (one Yjs insert of a numbered marker per keystroke) and every other client
 * reads. Fan-out: afterwards, one room with one writer and `fanout-readers` readers, nothing else
 * connected. Latency = keystroke until a reader's document holds the marker (writer and readers
 * of a room live in one client process, so one clock). The clients run in `procs` forked
 * processes (bench/sync-load-clients.ts) so they do not share an event loop with this script;
 * their event-loop lag is printed so a saturated client side shows. Server CPU is utime + stime
 * from /proc/<pid>/stat over the measured phase, divided by the updates readers received.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { cpuSeconds } from './proc';
import path from 'node:path';
import { createRoom, printTable, REPO_ROOT, sleep, startBare, startEnsemble, type ChildServer } from './sync-common';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const only = (() => {
  const i = process.argv.indexOf('--only');
  return i > 0 ? process.argv[i + 1] : undefined;
})();
const CLIENTS = arg('clients', 2000);
const ROOMS = arg('rooms', 100);
const SECONDS = arg('seconds', 30);
const RATE = arg('rate', 2);
const PROCS = arg('procs', 2);
const FANOUT_READERS = arg('fanout-readers', 100);
const FANOUT_RATE = arg('fanout-rate', 5);

interface RoomSpec {
  room: string;
  token: string;
  readers: number;
}
interface ClientResult {
  latencies: number[];
  delivered: number;
  expected: number;
  lagP99Ms: number;
  lagMaxMs: number;
}


const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

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

/** Runs one phase: rooms spread over `procs` client processes; returns the table row. */
async function phase(server: ChildServer, syncUrl: string, specs: RoomSpec[], procs: number, seconds: number, rate: number) {
  const children = Array.from({ length: Math.min(procs, specs.length) }, () =>
    fork(path.join(REPO_ROOT, 'bench/sync-load-clients.ts'), [], { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const ready = children.map((c) => onceMessage(c, 'ready'));
  children.forEach((child, i) => child.send({ kind: 'setup', syncUrl, rooms: specs.filter((_, r) => r % children.length === i) }));
  await Promise.all(ready);
  await sleep(2000); // let the joins settle
  const results = children.map((c) => onceMessage<ClientResult>(c, 'result'));
  const cpuBefore = cpuSeconds(server.child.pid!);
  for (const child of children) child.send({ kind: 'go', seconds, rate });
  const all = await Promise.all(results);
  const cpu = cpuSeconds(server.child.pid!) - cpuBefore;
  const latencies = all.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const delivered = all.reduce((n, r) => n + r.delivered, 0);
  const expected = all.reduce((n, r) => n + r.expected, 0);
  return {
    latencies,
    row: {
      'p50 (ms)': percentile(latencies, 50).toFixed(1),
      'p95 (ms)': percentile(latencies, 95).toFixed(1),
      'p99 (ms)': percentile(latencies, 99).toFixed(1),
      'max (ms)': (latencies.at(-1) ?? NaN).toFixed(1),
      delivered: `${delivered}/${expected}`,
      'server CPU s': cpu.toFixed(1),
      'CPU µs/update': ((cpu / Math.max(1, delivered)) * 1e6).toFixed(1),
      'client lag p99/max (ms)': all.map((r) => `${r.lagP99Ms.toFixed(0)}/${r.lagMaxMs.toFixed(0)}`).join(' '),
    },
  };
}

/** Splits `clients` over `rooms` rooms (one writer each, the rest readers). */
function spread(names: Array<{ room: string; token: string }>, clients: number): RoomSpec[] {
  return names.map((n, i) => ({ ...n, readers: Math.floor(clients / names.length) - 1 + (i < clients % names.length ? 1 : 0) }));
}

async function runServer(label: string, start: () => Promise<ChildServer & { url?: string }>, ensemble: boolean) {
  const server = await start();
  const syncUrl = ensemble ? `ws://127.0.0.1:${server.port}/sync` : `ws://127.0.0.1:${server.port}`;
  const names = async (n: number, prefix: string) =>
    Promise.all(
      Array.from({ length: n }, async (_, i) => {
        if (!ensemble) return { room: `${prefix}-${i}`, token: '' };
        const r = await createRoom(server.url!, `${prefix} ${i}`);
        return { room: r.roomId, token: r.token };
      }),
    );
  try {
    const load = await phase(server, syncUrl, spread(await names(ROOMS, 'load'), CLIENTS), PROCS, SECONDS, RATE);
    const fan = await phase(server, syncUrl, [{ ...(await names(1, 'fanout'))[0]!, readers: FANOUT_READERS }], 1, Math.max(10, SECONDS / 2), FANOUT_RATE);
    return { label, load, fan };
  } finally {
    await server.stop();
  }
}

const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`sync load: ${CLIENTS} clients in ${ROOMS} rooms, one writer per room at ${RATE}/s for ${SECONDS} s, ${PROCS} client processes; fan-out 1 → ${FANOUT_READERS} at ${FANOUT_RATE}/s; load average before: ${load}`);
const runs = [];
if (only !== 'ensemble') runs.push(await runServer('bare @y/websocket-server', () => startBare(), false));
if (only !== 'bare') runs.push(await runServer('Ensemble + SQLite', () => startEnsemble(), true));
for (const which of ['load', 'fan'] as const) {
  const rows: Array<Record<string, string>> = runs.map((r) => ({ server: r.label, ...r[which].row }));
  if (runs.length === 2) {
    const [bare, ens] = runs.map((r) => r[which].latencies);
    const ratio = (p: number) => (percentile(ens!, p) / percentile(bare!, p)).toFixed(2);
    rows.push({ server: 'ratio Ensemble/bare', 'p50 (ms)': ratio(50), 'p95 (ms)': ratio(95), 'p99 (ms)': ratio(99), 'max (ms)': ((ens!.at(-1) ?? 0) / (bare!.at(-1) ?? 1)).toFixed(2), delivered: '', 'server CPU s': '', 'CPU µs/update': '', 'client lag p99/max (ms)': '' });
  }
  printTable(which === 'load' ? `Load: keystroke → reader (${CLIENTS} clients, ${ROOMS} rooms)` : `Fan-out: 1 writer → ${FANOUT_READERS} readers`, rows);
}
console.log(`load average after: ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
