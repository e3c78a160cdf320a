/**
 * Cold-load time of the B4-sized room (automerge-paper's final document, 259,778 ops) from each
 * store: SQLite (embedded) and MongoDB (jongodb, via test/setup/mongo.ts; or $MONGODB_URI). The
 * room is stored as compaction leaves it: a snapshot plus a 250-update log tail. "Cold load" is
 * DocumentRegistry.acquire on an unloaded room: store.loadDocument + applying snapshot and tail.
 *
 *   node --import tsx bench/sync-coldload.ts [--repeat 5]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as Y from 'yjs';
import { createLogger } from '../server/src/logger';
import { defaultRoomSettings } from '../shared/src/index';
import { ConfigSchema } from '../server/src/config';
import { Metrics, instrumentStore } from '../server/src/metrics';
import { MongoStorage, SqliteStorage } from '../server/src/storage/index';
import type { Stores } from '../server/src/storage/store';
import { DocumentRegistry } from '../server/src/sync/document-registry';
import { startJongodb } from '../test/setup/mongo';
import { TEXT, applyPatch, loadTrace, printTable } from './sync-common';

const args = process.argv.slice(2);
const REPEAT = args.includes('--repeat') ? Number(args[args.indexOf('--repeat') + 1]) : 5;
const TAIL = 250;

const trace = loadTrace('automerge-paper');
const ops = trace.txns.flatMap((t) => t.patches);
const doc = new Y.Doc();
const text = doc.getText(TEXT);
const tail: Uint8Array[] = [];
let snapshot: Uint8Array = new Uint8Array();
ops.forEach((op, i) => {
  if (i === ops.length - TAIL) {
    snapshot = Y.encodeStateAsUpdate(doc);
    doc.on('update', (u: Uint8Array) => tail.push(u));
  }
  doc.transact(() => applyPatch(text, op));
});
if (text.toString() !== trace.endContent) throw new Error('B4 replay mismatch');

async function measure(kind: string, store: Stores): Promise<Record<string, string | number>> {
  const roomId = `b4room-${kind}-${Date.now()}`.replace(/[^A-Za-z0-9_-]/g, '');
  await store.rooms.createRoom({
    id: roomId,
    name: 'B4',
    kind: 'writers-room',
    joinCode: `B4${Math.floor(Math.random() * 1e8).toString().padStart(8, '0')}`,
    ownerId: 'owner',
    createdAt: new Date().toISOString(),
    settings: defaultRoomSettings('writers-room'),
  });
  const seq = await store.documents.appendUpdates(roomId, [snapshot]);
  await store.documents.writeSnapshot(roomId, snapshot, seq);
  await store.documents.appendUpdates(roomId, tail);

  const metrics = new Metrics();
  const registry = new DocumentRegistry({
    log: instrumentStore(store, metrics).documents,
    logger: createLogger({ LOG_LEVEL: 'silent' }),
    metrics,
    flushMs: 50,
    compactEvery: 1_000_000,
  });
  const times: number[] = [];
  const storeTimes: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    await store.documents.loadDocument(roomId);
    storeTimes.push(performance.now() - t0);
    const t1 = performance.now();
    const room = await registry.acquire(roomId);
    times.push(performance.now() - t1);
    const ok = room.doc.getText(TEXT).toString() === trace.endContent;
    registry.release(roomId);
    await registry.settled();
    if (!ok) throw new Error(`${kind}: loaded text differs`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return {
    store: kind,
    'snapshot bytes': snapshot.byteLength,
    'tail updates': tail.length,
    'loadDocument median (ms)': median(storeTimes).toFixed(1),
    'cold load = acquire median (ms)': median(times).toFixed(1),
    'min (ms)': Math.min(...times).toFixed(1),
    'text === endContent': 'yes',
  };
}

const rows: Array<Record<string, string | number>> = [];
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-coldload-'));
const sqlite = new SqliteStorage({ dataDir });
await sqlite.init();
rows.push(await measure('sqlite', sqlite));
await sqlite.close();
fs.rmSync(dataDir, { recursive: true, force: true });

const jongodb = process.env.MONGODB_URI ? null : await startJongodb();
const config = ConfigSchema.parse({ MONGODB_URI: process.env.MONGODB_URI ?? jongodb!.uri });
const mongo = new MongoStorage({ uri: config.MONGODB_URI!, dbName: `bench_${Date.now()}` });
await mongo.init();
rows.push(await measure(process.env.MONGODB_URI ? 'mongodb' : 'mongodb (jongodb)', mongo));
await mongo.close();
await jongodb?.stop();

printTable(`Cold load of the B4 room (${ops.length} ops, ${trace.endContent.length} chars), ${REPEAT} loads each`, rows);
process.exit(0);
