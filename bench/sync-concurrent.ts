/**
 * friendsforever.json.gz with two writers typing at the same time. Each transaction's positions
 * are relative to its author's view, so each author's Yjs updates are built locally first with
 * one Y.Doc per author that merges exactly the transaction's causal past (its parents and their
 * ancestors) before applying it; then each author's update stream is sent from its own websocket
 * concurrently, and a stock reader must end with `endContent`. Ensemble vs the bare server.
 *
 * Two pacings:
 *  - causal (default): a writer sends an edit once the server has relayed the other writer's
 *    edits it depends on (as a real client can only edit what it has seen). Where the trace is
 *    concurrent, both streams flow at once.
 *  - burst (--burst): both streams are fired as fast as possible, so the server receives edits
 *    before their dependencies and Yjs keeps them as pending structs (quadratic re-merging in
 *    Yjs itself; both servers pay it).
 *
 *   node --import tsx bench/sync-concurrent.ts [--burst]
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { WebSocket } from '../server/src/sync/ws';
import { TEXT, applyPatch, connect, createRoom, loadTrace, printTable, startBare, startEnsemble, tick, waitUntil } from './sync-common';

const BURST = process.argv.includes('--burst');
const trace = loadTrace('friendsforever');

interface Edit {
  agent: number;
  update: Uint8Array;
  /** The author's Yjs client id and its clock after this edit (what a peer must have to depend on it). */
  client: number;
  clock: number;
  parents: number[];
}

function buildEdits(clientIdOf: (agent: number) => number): Edit[] | null {
  const edits: Edit[] = [];
  const authors = new Map<number, { doc: Y.Doc; known: Set<number> }>();
  trace.txns.forEach((txn, i) => {
    const agent = txn.agent ?? 0;
    let author = authors.get(agent);
    if (!author) {
      author = { doc: new Y.Doc(), known: new Set() };
      author.doc.clientID = clientIdOf(agent);
      authors.set(agent, author);
    }
    const { doc, known } = author;
    // Merge the causal past this author has not seen yet ("known" is always causally closed).
    const missing: number[] = [];
    const stack = [...(txn.parents ?? [])];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (known.has(p)) continue;
      known.add(p);
      missing.push(p);
      stack.push(...(trace.txns[p]!.parents ?? []));
    }
    if (missing.length > 0) {
      missing.sort((x, y) => x - y); // causal order: nothing waits as pending
      doc.transact(() => {
        for (const p of missing) Y.applyUpdate(doc, edits[p]!.update);
      });
    }
    let produced: Uint8Array | null = null;
    const capture = (u: Uint8Array) => (produced = u);
    doc.on('update', capture);
    doc.transact(() => {
      for (const patch of txn.patches) applyPatch(doc.getText(TEXT), patch);
    });
    doc.off('update', capture);
    known.add(i);
    edits.push({ agent, update: produced ?? new Uint8Array([0, 0]), client: doc.clientID, clock: Y.getState(doc.store, doc.clientID), parents: txn.parents ?? [] });
  });
  const all = new Y.Doc();
  Y.applyUpdate(all, Y.mergeUpdates(edits.map((e) => e.update)));
  return all.getText(TEXT).toString() === trace.endContent ? edits : null;
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

async function run(name: string, serverUrl: string, room: string, token: string, edits: Edit[]) {
  const reader = connect(serverUrl, room, token ? { token } : {});
  await reader.synced;
  const agents = [...new Set(edits.map((e) => e.agent))];
  const sockets = await Promise.all(agents.map(() => openSocket(`${serverUrl}/${room}${token ? `?token=${token}` : ''}`)));
  // The reader sees what the server integrated: wake waiting writers on each of its updates.
  let wake: Array<() => void> = [];
  reader.doc.on('update', () => {
    const waiting = wake;
    wake = [];
    for (const w of waiting) w();
  });
  const seen = (e: Edit) => Y.getState(reader.doc.store, e.client) >= e.clock;
  const until = async (ok: () => boolean) => {
    while (!ok()) await new Promise<void>((r) => wake.push(r));
  };
  const send = async (agent: number, socket: WebSocket) => {
    let n = 0;
    for (const edit of edits) {
      if (edit.agent !== agent) continue;
      if (!BURST) {
        const deps = edit.parents.map((p) => edits[p]!).filter((p) => p.agent !== agent);
        if (!deps.every(seen)) await until(() => deps.every(seen));
      }
      socket.send(updateMessage(edit.update));
      if (++n % 100 === 0) await tick();
    }
  };
  const started = performance.now();
  await Promise.all(agents.map((agent, i) => send(agent, sockets[i]!)));
  await waitUntil(() => reader.doc.getText(TEXT).length === trace.endContent.length && reader.doc.getText(TEXT).toString() === trace.endContent, 300_000, `${name}: reader to reach endContent`);
  const ms = performance.now() - started;
  for (const ws of sockets) ws.close();
  reader.destroy();
  return ms;
}

const t0 = performance.now();
// Concurrent inserts at one position are ordered by Yjs client id; the trace's reference order
// (diamond-types) breaks such ties by agent, so the authors' client ids must follow the agents.
const edits = buildEdits((agent) => agent + 1) ?? buildEdits((agent) => 1000 - agent);
if (!edits) throw new Error('the author streams do not reproduce endContent');
const buildMs = performance.now() - t0;
const sizes = [0, 1].map((a) => `agent ${a}: ${edits.filter((e) => e.agent === a).length}`).join(', ');

const bare = await startBare();
const bareMs = await run('bare', `ws://127.0.0.1:${bare.port}`, 'friends', '', edits).finally(() => bare.stop());
const ensemble = await startEnsemble();
let ensembleMs: number;
try {
  const { roomId, token } = await createRoom(ensemble.url, 'friendsforever');
  // Both writer sockets use the owner's token (one member, two clients).
  ensembleMs = await run('ensemble', `ws://127.0.0.1:${ensemble.port}/sync`, roomId, token, edits);
} finally {
  await ensemble.stop();
}
printTable(
  `friendsforever (${BURST ? 'burst' : 'causal'} pacing): ${trace.txns.length} transactions, 2 concurrent writers (${sizes}); updates built in ${buildMs.toFixed(0)} ms`,
  [
    { server: 'bare @y/websocket-server', 'ms until reader === endContent': bareMs.toFixed(0), 'endContent ok': 'yes' },
    { server: 'Ensemble + SQLite', 'ms until reader === endContent': ensembleMs.toFixed(0), 'endContent ok': 'yes' },
    { server: 'ratio', 'ms until reader === endContent': (ensembleMs / bareMs).toFixed(3), 'endContent ok': '' },
  ],
);
process.exit(0);
