/**
 * friendsforever.json.gz with two writers typing at the same time. Each transaction's positions
 * are relative to its author's view, so each author's Yjs updates are built locally first with
 * one Y.Doc per author that merges exactly the transaction's causal past (its parents and their
 * ancestors) before applying it; then each author's update stream is sent from its own websocket
 * concurrently, and a stock reader must end with `endContent`. Ensemble vs the bare server.
 *
 *   node --import tsx bench/sync-concurrent.ts
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { WebSocket } from '../server/src/sync/ws';
import { TEXT, applyPatch, connect, createRoom, loadTrace, printTable, startBare, startEnsemble, tick, waitUntil } from './sync-common';

const trace = loadTrace('friendsforever');

/** Per-author update streams, in each author's order. */
function buildStreams(clientIdOf: (agent: number) => number): Map<number, Uint8Array[]> | null {
  const updates: Uint8Array[] = [];
  const authors = new Map<number, { doc: Y.Doc; known: Set<number> }>();
  const streams = new Map<number, Uint8Array[]>();
  trace.txns.forEach((txn, i) => {
    const agent = txn.agent ?? 0;
    let author = authors.get(agent);
    if (!author) {
      author = { doc: new Y.Doc(), known: new Set() };
      author.doc.clientID = clientIdOf(agent);
      authors.set(agent, author);
    }
    // Merge the causal past this author has not seen yet ("known" is always causally closed).
    const missing: number[] = [];
    const stack = [...(txn.parents ?? [])];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (author.known.has(p)) continue;
      author.known.add(p);
      missing.push(p);
      stack.push(...(trace.txns[p]!.parents ?? []));
    }
    if (missing.length > 0) {
      missing.sort((x, y) => x - y); // causal order: nothing waits as pending
      author.doc.transact(() => {
        for (const p of missing) Y.applyUpdate(author.doc, updates[p]!);
      });
    }
    let produced: Uint8Array | null = null;
    const capture = (u: Uint8Array) => (produced = u);
    author.doc.on('update', capture);
    author.doc.transact(() => {
      for (const patch of txn.patches) applyPatch(author.doc.getText(TEXT), patch);
    });
    author.doc.off('update', capture);
    updates[i] = produced ?? new Uint8Array([0, 0]);
    author.known.add(i);
    if (!streams.has(agent)) streams.set(agent, []);
    streams.get(agent)!.push(updates[i]!);
  });
  // Sanity: all updates merged give the trace's end content.
  const all = new Y.Doc();
  Y.applyUpdate(all, Y.mergeUpdates(updates));
  return all.getText(TEXT).toString() === trace.endContent ? streams : null;
}

function updateMessage(update: Uint8Array): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, 0);
  syncProtocol.writeUpdate(enc, update);
  return encoding.toUint8Array(enc);
}

function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function sendStream(ws: WebSocket, stream: Uint8Array[]): Promise<void> {
  for (let i = 0; i < stream.length; i++) {
    ws.send(updateMessage(stream[i]!));
    if (i % 100 === 99) await tick();
  }
}

async function run(name: string, serverUrl: string, room: string, query: string, streams: Map<number, Uint8Array[]>) {
  const reader = connect(serverUrl, room, query ? { token: query } : {});
  await reader.synced;
  const sockets = await Promise.all([...streams.keys()].map(() => openSocket(`${serverUrl}/${room}${query ? `?token=${query}` : ''}`)));
  const started = performance.now();
  await Promise.all([...streams.values()].map((stream, i) => sendStream(sockets[i]!, stream)));
  await waitUntil(() => reader.doc.getText(TEXT).toString() === trace.endContent, 120_000, `${name}: reader to reach endContent`);
  const ms = performance.now() - started;
  for (const ws of sockets) ws.close();
  reader.destroy();
  return ms;
}

const t0 = performance.now();
// Concurrent inserts at one position are ordered by Yjs client id; the trace's reference order
// (diamond-types) breaks such ties by agent, so the authors' client ids must follow the agents.
const streams = buildStreams((agent) => agent + 1) ?? buildStreams((agent) => 1000 - agent);
if (!streams) throw new Error('the author streams do not reproduce endContent');
const buildMs = performance.now() - t0;
const sizes = [...streams.entries()].map(([agent, s]) => `agent ${agent}: ${s.length}`).join(', ');

const bare = await startBare();
const bareMs = await run('bare', `ws://127.0.0.1:${bare.port}`, 'friends', '', streams).finally(() => bare.stop());
const ensemble = await startEnsemble();
let ensembleMs: number;
try {
  const { roomId, token } = await createRoom(ensemble.url, 'friendsforever');
  // Two writers: the owner's token is an editor's; both sockets use it (one member, two clients).
  ensembleMs = await run('ensemble', `ws://127.0.0.1:${ensemble.port}/sync`, roomId, token, streams);
} finally {
  await ensemble.stop();
}
printTable(`friendsforever: ${trace.txns.length} transactions, 2 concurrent writers (${sizes}); streams built in ${buildMs.toFixed(0)} ms`, [
  { server: 'bare @y/websocket-server', 'ms until reader === endContent': bareMs.toFixed(0), 'endContent ok': 'yes' },
  { server: 'Ensemble + SQLite', 'ms until reader === endContent': ensembleMs.toFixed(0), 'endContent ok': 'yes' },
]);
process.exit(0);
