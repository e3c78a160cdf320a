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
import { createRoom, printTable, startBare, startEnsemble, type ChildServer } from './sync-common';
import { latencyColumns, loadAverage, numberArg, percentile, runPhase, spread, stringArg, type RoomSpec } from './sync-load-run';

const only = stringArg('only');
const CLIENTS = numberArg('clients', 2000);
const ROOMS = numberArg('rooms', 100);
const SECONDS = numberArg('seconds', 30);
const RATE = numberArg('rate', 2);
const PROCS = numberArg('procs', 2);
const FANOUT_READERS = numberArg('fanout-readers', 100);
const FANOUT_RATE = numberArg('fanout-rate', 5);

/** Runs one phase against one server; returns the table row. */
async function phase(server: ChildServer, syncUrl: string, rooms: RoomSpec[], clientProcs: number, seconds: number, rate: number) {
  const result = await runPhase({ syncUrls: [syncUrl], serverPids: [server.child.pid!], rooms, clientProcs, seconds, rate });
  return { latencies: result.latencies, row: { ...latencyColumns(result), 'client lag p99/max (ms)': result.clientLag } };
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
    const fan = await phase(server, syncUrl, [{ ...(await names(1, 'fanout'))[0]!, readers: FANOUT_READERS, offset: 0 }], 1, Math.max(10, SECONDS / 2), FANOUT_RATE);
    return { label, load, fan };
  } finally {
    await server.stop();
  }
}

const load = loadAverage();
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
console.log(`load average after: ${loadAverage()}`);
