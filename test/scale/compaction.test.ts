import * as Y from 'yjs';
import { describe, expect, inject, it } from 'vitest';
import { createStore } from '../../server/src/storage/index';
import { loadStoredDocument } from '../../server/src/sync/stored-document';
import { connectClient, createRoom, startServer, tempDataDir, waitFor, type TestClient, type TestServer } from '../helpers/index';
import { sharedDeploymentEnv, useRedisSuite } from '../helpers/deployment';

const mongoUri = process.env.MONGODB_URI ?? inject('scaleMongoUri');
const read = (doc: Y.Doc) => doc.getText('t').toString();

describe('compaction while several processes append to one log', () => {
  const suite = useRedisSuite();
  const { cleanup } = suite;

  it('a snapshot keeps updates another process stored without the bus (a replayed recovery file), below its seq', async () => {
    const env = { ...sharedDeploymentEnv(suite.redis, mongoUri), ENSEMBLE_FLUSH_MS: '10', ENSEMBLE_COMPACT_EVERY: '10' };
    const server: TestServer = await startServer({ env });
    cleanup.push(() => server.close());
    // Another process's handle on the same database.
    const other = createStore({ ENSEMBLE_DATA_DIR: tempDataDir(), MONGODB_URI: env.MONGODB_URI, MONGODB_DB: env.MONGODB_DB });
    await other.init();
    cleanup.push(() => other.close());

    const room = await createRoom(server.url);
    const roomId = room.room.id;
    const writer: TestClient = connectClient(server.syncUrl, roomId, room.token);
    cleanup.push(() => writer.destroy());
    await writer.synced;
    writer.doc.getText('t').insert(0, 'typed;');
    await waitFor(async () => (await other.documents.loadDocument(roomId)).updates.length > 0, { message: 'first update stored' });

    // Stored straight into the log by someone else: this process never sees it on the bus.
    const foreign = new Y.Doc();
    foreign.getText('elsewhere').insert(0, 'replayed from a recovery file');
    const foreignSeq = await other.documents.appendUpdates(roomId, [Y.encodeStateAsUpdate(foreign)]);
    foreign.destroy();

    // Enough updates after it for this process to compact (it holds the lease: no one else loaded the room).
    const text = writer.doc.getText('t');
    for (let i = 0; i < 30; i++) text.insert(text.length, `${i};`);
    const snapshotSeq = await waitFor(
      async () => {
        const seq = (await other.documents.loadDocument(roomId)).snapshotSeq;
        return seq > foreignSeq ? seq : false;
      },
      { message: 'the log was not compacted past the foreign update' },
    );
    expect(snapshotSeq).toBeGreaterThan(foreignSeq);

    const { doc } = await loadStoredDocument(other.documents, roomId);
    expect(doc.getText('elsewhere').toString()).toBe('replayed from a recovery file');
    expect(read(doc).startsWith('typed;0;1;2;')).toBe(true);
    doc.destroy();
  });
});
