/**
 * Issue 14's load (bench/sync-load-run.ts) against 1, 2 and 3 Ensemble processes sharing rooms
 * over Redis and MongoDB, as a deployment runs them: every room's clients are spread round-robin
 * over the processes (the writer on one, its readers on all), so most keystrokes reach most
 * readers through Redis.
 *
 *   node --import tsx bench/sync-scale.ts [--clients 600] [--rooms 30] [--seconds 20] [--rate 2]
 *        [--procs 2] [--servers 1,2,3] [--baseline]
 *   full size: --clients 2000 --rooms 100 --seconds 30
 *
 * MongoDB: $MONGODB_URI, else jongodb (test/setup/mongo.ts). Redis: a redis-server of its own
 * (test/helpers/redis.ts; scripts/install-redis.sh installs it). Each deployment gets a fresh
 * database and key prefix. `--baseline` adds one process without Redis, on SQLite (as
 * bench/sync-load.ts runs it) and on the same MongoDB. Server CPU is summed over the Ensemble processes; Redis's and
 * jongodb's own CPU are printed apart (jongodb is a test server, not a tuned MongoDB).
 */
import { startRedisServer } from '../test/helpers/redis';
import { sharedDeploymentEnv } from '../test/helpers/deployment';
import { startJongodb } from '../test/setup/mongo';
import { createRoom, printTable, startEnsemble } from './sync-common';
import { latencyColumns, loadAverage, numberArg, runPhase, spread, stringArg } from './sync-load-run';

const CLIENTS = numberArg('clients', 600);
const ROOMS = numberArg('rooms', 30);
const SECONDS = numberArg('seconds', 20);
const RATE = numberArg('rate', 2);
const PROCS = numberArg('procs', 2);
const SERVERS = (stringArg('servers') ?? '1,2,3').split(',').map((n) => {
  const count = Number(n);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--servers takes process counts like 1,2,3, got ${n}`);
  return count;
});
const BASELINE = process.argv.includes('--baseline');

const redis = await startRedisServer(10_000);
const jongodb = process.env.MONGODB_URI ? null : await startJongodb();
const mongoUri = process.env.MONGODB_URI ?? jongodb!.uri;
const sidePids: Record<string, number> = { redis: redis.pid! };
if (jongodb) sidePids.jongodb = jongodb.pid;

/** Starts `count` processes (one deployment, or SQLite alone), runs the load, stops them; returns the row. */
async function runDeployment(label: string, count: number, env: Record<string, string>): Promise<Record<string, string>> {
  const servers: Array<Awaited<ReturnType<typeof startEnsemble>>> = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await startEnsemble(env));
    // Rooms are created through the first process; the others find them in the shared store.
    const names = await Promise.all(
      Array.from({ length: ROOMS }, async (_, i) => {
        const r = await createRoom(servers[0]!.url, `load ${i}`);
        return { room: r.roomId, token: r.token };
      }),
    );
    const result = await runPhase({
      syncUrls: servers.map((s) => `ws://127.0.0.1:${s.port}/sync`),
      serverPids: servers.map((s) => s.child.pid!),
      // Redis's and jongodb's CPU where this deployment uses them.
      sidePids: Object.fromEntries(Object.entries(sidePids).filter(([name]) => (name === 'redis' ? 'ENSEMBLE_REDIS_URL' in env : 'MONGODB_URI' in env))),
      rooms: spread(names, CLIENTS),
      clientProcs: PROCS,
      seconds: SECONDS,
      rate: RATE,
    });
    const side = (name: string) => (name in result.sideCpu ? result.sideCpu[name]!.toFixed(1) : '-');
    return {
      deployment: label,
      ...latencyColumns(result),
      'busiest process CPU s': Math.max(...result.serverCpuEach).toFixed(1),
      'Redis CPU s': side('redis'),
      'jongodb CPU s': side('jongodb'),
      'client lag p99/max (ms)': result.clientLag,
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

console.log(
  `sync scale: ${CLIENTS} clients in ${ROOMS} rooms, one writer per room at ${RATE}/s for ${SECONDS} s, ${PROCS} client processes, clients round-robin over the processes; load average before: ${loadAverage()}`,
);
const rows: Array<Record<string, string>> = [];
try {
  if (BASELINE) {
    rows.push(await runDeployment('1 process, SQLite, no Redis', 1, {}));
    const { MONGODB_URI, MONGODB_DB } = sharedDeploymentEnv(redis, mongoUri);
    rows.push(await runDeployment(`1 process, ${jongodb ? 'jongodb' : 'MongoDB'}, no Redis`, 1, { MONGODB_URI, MONGODB_DB }));
  }
  for (const count of SERVERS) {
    const label = `${count} process${count > 1 ? 'es' : ''}, Redis + ${jongodb ? 'jongodb' : 'MongoDB'}`;
    rows.push(await runDeployment(label, count, sharedDeploymentEnv(redis, mongoUri)));
  }
  printTable(`Keystroke → reader across processes (${CLIENTS} clients, ${ROOMS} rooms); server CPU summed over the processes`, rows);
} finally {
  await redis.stop();
  await jongodb?.stop();
}
console.log(`load average after: ${loadAverage()}`);
process.exit(0);
