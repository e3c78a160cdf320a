/**
 * Bystander edit latency and server RSS with and without a hostile member, in one run.
 *
 *   node --import tsx bench/sync-hostile.ts [--edits 300] [--rate 20]
 *
 * A writer and a reader (stock y-websocket clients) share a room; the writer types one marker per
 * edit at `rate`/s and the latency is the time until the reader's document holds it. The quiet
 * phase runs alone; the hostile phase runs the same while a member of the same room sends, in a
 * loop, the attacks this server used to fall for (each now refused or bounded): a 20,000-deep
 * nesting update (~400 KB), delete sets for unknown clients at the frame limit, a delete set over
 * the writer's future clocks, updates with missing dependencies, and oversized awareness states.
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import { storyOf } from '@ensemble/shared';
import { connectHostile, craft, deleteSetUpdate, type HostilePeer } from '../test/helpers/hostile';
import { connect, createRoom, printTable, rssOf, sleep, startEnsemble, waitUntil } from './sync-common';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const EDITS = arg('edits', 300);
const RATE = arg('rate', 20);

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

async function join(url: string, joinCode: string, displayName: string): Promise<string> {
  const res = await fetch(`${url}/api/rooms/join`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ joinCode, displayName }) });
  return ((await res.json()) as { token: string }).token;
}

/** One round of every attack, each on a fresh connection when the last one was closed. */
async function attackRound(syncUrl: string, roomId: string, token: string, victim: number, state: { peer: HostilePeer | null }): Promise<number> {
  let sent = 0;
  const peer = async () => {
    if (!state.peer || state.peer.socket.readyState !== 1) state.peer = await connectHostile(syncUrl, roomId, token);
    return state.peer;
  };
  const nesting = craft((await peer()).mirror, (doc) =>
    doc.transact(() => {
      let parent: Y.XmlFragment | Y.XmlElement = storyOf(doc);
      for (let i = 0; i < 20_000; i++) {
        const el = new Y.XmlElement('div');
        parent.insert(0, [el]);
        parent = el;
      }
    }),
  );
  (await peer()).send(nesting.update);
  sent += nesting.update.byteLength;
  const unknown = deleteSetUpdate(Array.from({ length: 100_000 }, (_, i) => ({ client: 1_000_000 + i, clock: i, len: 1 })));
  for (let i = 0; i < 3; i++) {
    (await peer()).send(unknown);
    sent += unknown.byteLength;
  }
  (await peer()).send(deleteSetUpdate([{ client: victim, clock: 0, len: 2 ** 31 }]));
  const ghost = craft((await peer()).mirror, (doc) => doc.getText('junk').insert(0, 'x'.repeat(100_000)));
  const orphan = craft(ghost.doc, (doc) => doc.getText('junk').insert(5, 'y'.repeat(200_000)));
  (await peer()).send(orphan.update);
  sent += orphan.update.byteLength;
  const p = await peer();
  const scratch = new awarenessProtocol.Awareness(new Y.Doc());
  scratch.setLocalState({ user: { name: 'Ensemble AI', color: '#000' }, junk: 'z'.repeat(900_000) });
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, 1);
  encoding.writeVarUint8Array(enc, awarenessProtocol.encodeAwarenessUpdate(scratch, [scratch.clientID]));
  p.sendRaw(encoding.toUint8Array(enc));
  sent += 900_000;
  return sent;
}

async function measure(label: string, url: string, syncUrl: string, room: { roomId: string; token: string; joinCode: string }, hostile: boolean) {
  const writer = connect(syncUrl, room.roomId, { token: room.token });
  const reader = connect(syncUrl, room.roomId, { token: await join(url, room.joinCode, 'Reader') });
  await Promise.all([writer.synced, reader.synced]);
  const text = writer.doc.getText('bench');
  const seen = new Map<string, number>();
  const sentAt = new Map<string, number>();
  reader.doc.getText('bench').observe((e) => {
    for (const d of e.changes.delta) if (typeof d.insert === 'string') for (const m of d.insert.match(/<\d+>/g) ?? []) if (!seen.has(m)) seen.set(m, performance.now());
  });
  let stop = false;
  let attackBytes = 0;
  let rounds = 0;
  const attacker = hostile
    ? (async () => {
        const token = await join(url, room.joinCode, 'Mallory');
        const state = { peer: null as HostilePeer | null };
        while (!stop) {
          attackBytes += await attackRound(syncUrl, room.roomId, token, writer.doc.clientID, state);
          rounds++;
          await sleep(50);
        }
        state.peer?.close();
      })()
    : Promise.resolve();
  let peakRss = 0;
  const child = (globalThis as { benchPid?: number }).benchPid!;
  for (let i = 0; i < EDITS; i++) {
    const marker = `<${i}>`;
    sentAt.set(marker, performance.now());
    text.insert(text.length, marker);
    await sleep(1000 / RATE);
    peakRss = Math.max(peakRss, rssOf(child));
  }
  await waitUntil(() => seen.size >= EDITS, 30_000, 'every marker at the reader');
  stop = true;
  await attacker;
  const latencies = [...sentAt].map(([m, t]) => seen.get(m)! - t);
  writer.destroy();
  reader.destroy();
  return {
    phase: label,
    edits: EDITS,
    'p50 (ms)': percentile(latencies, 50).toFixed(1),
    'p99 (ms)': percentile(latencies, 99).toFixed(1),
    'peak RSS (MB)': (peakRss / 2 ** 20).toFixed(0),
    'attack rounds': rounds,
    'attack MB sent': (attackBytes / 2 ** 20).toFixed(1),
  };
}

const server = await startEnsemble();
(globalThis as { benchPid?: number }).benchPid = server.child.pid!;
const syncUrl = `ws://127.0.0.1:${server.port}/sync`;
try {
  const quiet = await measure('quiet', server.url, syncUrl, await createRoom(server.url), false);
  const attacked = await measure('hostile member', server.url, syncUrl, await createRoom(server.url), true);
  printTable(`Bystander edit latency, ${EDITS} edits at ${RATE}/s (writer → reader, stock y-websocket clients)`, [
    quiet,
    attacked,
    { phase: 'ratio hostile/quiet', edits: '', 'p50 (ms)': (Number(attacked['p50 (ms)']) / Number(quiet['p50 (ms)'])).toFixed(2), 'p99 (ms)': (Number(attacked['p99 (ms)']) / Number(quiet['p99 (ms)'])).toFixed(2), 'peak RSS (MB)': '', 'attack rounds': '', 'attack MB sent': '' },
  ]);
} finally {
  await server.stop();
}
