/**
 * Server memory with 1,000 idle stock y-websocket clients across 100 rooms (10 per room, each
 * room holding a short text). Ensemble runs as a child process; its RSS comes from /proc and its
 * heap from /metrics. Prints the per-client figure.
 *
 *   node --import tsx bench/sync-memory.ts [--rooms 100] [--per-room 10]
 */
import { connect, createRoom, printTable, rssOf, sleep, startEnsemble, type Client } from './sync-common';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const ROOMS = arg('rooms', 100);
const PER_ROOM = arg('per-room', 10);

const server = await startEnsemble();
async function heapUsed(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('ensemble_nodejs_heap_size_used_bytes'));
  return Number(line?.split(' ').at(-1));
}
async function sample() {
  await sleep(3000); // let connections settle and the server's GC run
  return { rss: rssOf(server.child.pid!), heap: await heapUsed() };
}

try {
  const rooms = [];
  for (let i = 0; i < ROOMS; i++) rooms.push(await createRoom(server.url, `memory ${i}`));
  // One client writes a little into each room, then leaves, so the rooms hold content.
  for (const room of rooms) {
    const c = connect(`ws://127.0.0.1:${server.port}/sync`, room.roomId, { token: room.token });
    await c.synced;
    c.doc.getText('bench').insert(0, 'It was a dark and stormy night; the rain fell in torrents. '.repeat(4));
    await sleep(5);
    c.destroy();
  }
  const before = await sample();
  const clients: Client[] = [];
  for (const room of rooms) {
    for (let k = 0; k < PER_ROOM; k++) clients.push(connect(`ws://127.0.0.1:${server.port}/sync`, room.roomId, { token: room.token }));
  }
  await Promise.all(clients.map((c) => c.synced));
  const after = await sample();
  const n = clients.length;
  printTable(`Server memory, ${n} idle clients across ${ROOMS} rooms`, [
    { measure: 'RSS (MB)', 'before clients': (before.rss / 1048576).toFixed(1), [`with ${n} clients`]: (after.rss / 1048576).toFixed(1), 'per client (KB)': ((after.rss - before.rss) / n / 1024).toFixed(1) },
    { measure: 'V8 heap used (MB)', 'before clients': (before.heap / 1048576).toFixed(1), [`with ${n} clients`]: (after.heap / 1048576).toFixed(1), 'per client (KB)': ((after.heap - before.heap) / n / 1024).toFixed(1) },
  ]);
  for (const c of clients) c.destroy();
} finally {
  await server.stop();
}
process.exit(0);
