/**
 * One client process of bench/sync-load.ts (forked with IPC): it holds whole rooms — each room's
 * writer and its readers — so keystroke-to-reader latency is measured on one clock. Stock
 * y-websocket clients; a reader only watches its Y.Text for the writer's markers.
 *
 * Parent → child: { kind: 'setup', syncUrls, rooms }, then { kind: 'go', seconds, rate }
 * (ToClients in bench/sync-load-run.ts; a room's clients go round-robin over syncUrls, from its
 * offset). Child → parent: { kind: 'ready' }, then { kind: 'result', ... } (ClientResult).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { connect, sleep, TEXT, type Client } from './sync-common';
import type { ClientResult, RoomSpec, ToClients } from './sync-load-run';

interface LoadedRoom {
  writer: Client;
  readers: Client[];
  sentAt: number[];
}

const rooms: LoadedRoom[] = [];
const latencies: number[] = [];
let delivered = 0;
let expected = 0;
const lag = monitorEventLoopDelay({ resolution: 10 });

async function setup(syncUrls: string[], specs: RoomSpec[]): Promise<void> {
  // Connect in small waves: a storm of upgrades measures the handshake, not the steady state.
  for (const spec of specs) {
    const urlOf = (j: number) => syncUrls[(spec.offset + j) % syncUrls.length]!;
    const writer = connect(urlOf(0), spec.room, { token: spec.token });
    const readers = Array.from({ length: spec.readers }, (_, j) => connect(urlOf(j + 1), spec.room, { token: spec.token }));
    const loaded: LoadedRoom = { writer, readers, sentAt: [] };
    for (const reader of readers) {
      reader.doc.getText(TEXT).observe((event) => {
        const now = performance.now();
        for (const d of event.changes.delta) {
          if (typeof d.insert !== 'string') continue;
          for (const m of d.insert.matchAll(/<(\d+)>/g)) {
            const sent = loaded.sentAt[Number(m[1])];
            if (sent !== undefined) {
              latencies.push(now - sent);
              delivered++;
            }
          }
        }
      });
    }
    rooms.push(loaded);
    await Promise.all([writer.synced, ...readers.map((r) => r.synced)]);
  }
}

async function go(seconds: number, rate: number): Promise<void> {
  lag.reset();
  lag.enable();
  const interval = 1000 / rate;
  const started = performance.now();
  const timers = rooms.map((room, i) => {
    const text = room.writer.doc.getText(TEXT);
    let n = 0;
    const type = () => {
      if (performance.now() - started >= seconds * 1000) return;
      room.sentAt[n] = performance.now();
      text.insert(text.length, `<${n}>`); // one keystroke = one Yjs insert = one update
      n++;
      expected += room.readers.length;
      timer = setTimeout(type, interval);
    };
    // Writers start spread over one interval, as independent typists would.
    let timer = setTimeout(type, (i / rooms.length) * interval);
    return () => clearTimeout(timer);
  });
  await sleep(seconds * 1000 + 50);
  for (const stop of timers) stop();
  const deadline = Date.now() + 30_000;
  while (delivered < expected && Date.now() < deadline) await sleep(20);
  lag.disable();
}

process.on('message', (msg: ToClients) => {
  if (msg.kind === 'setup') {
    void setup(msg.syncUrls, msg.rooms).then(() => process.send!({ kind: 'ready' }));
    return;
  }
  void go(msg.seconds, msg.rate).then(() => {
    const result: ClientResult & { kind: 'result' } = {
      kind: 'result',
      latencies,
      delivered,
      expected,
      lagP99Ms: lag.percentile(99) / 1e6,
      lagMaxMs: lag.max / 1e6,
    };
    process.send!(
      result,
      () => {
        for (const room of rooms) for (const c of [room.writer, ...room.readers]) c.destroy();
        process.exit(0);
      },
    );
  });
});
