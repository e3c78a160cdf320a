import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MongoDocumentLog, MongoStorage } from '../../server/src/storage/mongo/index';
import { createStore } from '../../server/src/storage/index';
import { describeStoreConformance } from './store.conformance';

// $MONGODB_URI (a real MongoDB) when set, else the jongodb server test/setup/global.ts started.
const uri = process.env.MONGODB_URI ?? inject('mongoUri');
const dbName = `ensemble_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

/** Leaves covered log batches behind on writeSnapshot, as a crash right after storing the snapshot would. */
class MongoDocumentLogWithoutTruncation extends MongoDocumentLog {
  protected override async deleteCoveredLog(): Promise<void> {}
}
class MongoStorageWithoutLogTruncation extends MongoStorage {
  override readonly documents = new MongoDocumentLogWithoutTruncation(this.connection);
}

describeStoreConformance(`MongoStorage (${process.env.MONGODB_URI ? 'MONGODB_URI' : 'jongodb'})`, {
  open: () => new MongoStorage({ uri, dbName }),
  openWithoutLogTruncation: () => new MongoStorageWithoutLogTruncation({ uri, dbName }),
  // The driver's client closes under the storage, as a lost connection would make every command fail.
  breakBackend: async (storage) => (storage as MongoStorage).connection.client.close(),
  cleanup: async () => {
    const store = new MongoStorage({ uri, dbName });
    await store.init();
    await store.dropDatabase();
    await store.close();
  },
});

describe('MongoStorage specifics', () => {
  // Tiny parts, so chunking paths run with small data.
  const chunkedDbName = `${dbName}_chunks`;
  let store: MongoStorage;
  beforeAll(async () => {
    store = new MongoStorage({ uri, dbName: chunkedDbName, chunkBytes: 1024 });
    await store.init();
  });
  afterAll(async () => {
    await store.dropDatabase();
    await store.close();
  });

  it('createStore picks MongoDB when MONGODB_URI is set', async () => {
    const created = createStore({ ENSEMBLE_DATA_DIR: '/nonexistent', MONGODB_URI: uri, MONGODB_DB: dbName });
    expect(created).toBeInstanceOf(MongoStorage);
    expect(created.kind).toBe('mongodb');
    expect((created as MongoStorage).dbName).toBe(dbName);
  });

  it('creates its indexes', () => {
    expect(store.indexesCreated).toBe(true);
  });

  it('splits batches larger than a part (including a single update larger than a part) and reads them back exactly', async () => {
    const roomId = 'room_chunked_log';
    const small = Uint8Array.from({ length: 300 }, (_, i) => i % 251);
    const large = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) % 256);
    expect(await store.documents.appendUpdates(roomId, [small, large, small.subarray(10, 20)])).toBe(3);
    expect(await store.documents.appendUpdates(roomId, [Uint8Array.of(4)])).toBe(4);
    expect(await store.documents.appendUpdates(roomId, [large, large])).toBe(6);
    expect(await store.documents.loadDocument(roomId)).toEqual({
      snapshot: null,
      snapshotSeq: 0,
      updates: [
        { seq: 1, data: small },
        { seq: 2, data: large },
        { seq: 3, data: small.slice(10, 20) },
        { seq: 4, data: Uint8Array.of(4) },
        { seq: 5, data: large },
        { seq: 6, data: large },
      ],
    });

    const snapshot = Uint8Array.from({ length: 4100 }, (_, i) => (i * 13) % 256);
    await store.documents.writeSnapshot(roomId, snapshot, 4);
    expect(await store.documents.loadDocument(roomId)).toEqual({
      snapshot,
      snapshotSeq: 4,
      updates: [
        { seq: 5, data: large },
        { seq: 6, data: large },
      ],
    });
    await store.documents.writeSnapshot(roomId, Uint8Array.of(1), 6);
    expect(await store.documents.loadDocument(roomId)).toEqual({ snapshot: Uint8Array.of(1), snapshotSeq: 6, updates: [] });
  });

  it('splits large images and versions too', async () => {
    const data = Uint8Array.from({ length: 3000 }, (_, i) => (i * 3) % 256);
    await store.records.putImage({ roomId: 'room_chunked_img', id: 'i', mime: 'image/png', data, createdAt: 't' });
    expect(await store.records.getImage('room_chunked_img', 'i')).toEqual({ roomId: 'room_chunked_img', id: 'i', mime: 'image/png', data, createdAt: 't' });
    await store.records.putImage({ roomId: 'room_chunked_img', id: 'i', mime: 'image/png', data: Uint8Array.of(5), createdAt: 't' });
    expect((await store.records.getImage('room_chunked_img', 'i'))?.data).toEqual(Uint8Array.of(5));
    const version = { roomId: 'room_chunked_img', id: 'v', name: 'n', kind: 'manual' as const, createdAt: 't', createdBy: 'm', snapshot: data };
    await store.versions.saveVersion(version);
    expect(await store.versions.getVersion('room_chunked_img', 'v')).toEqual(version);
  });

  it('deleting a version deletes every part of its snapshot; one stored without a kind reads as manual', async () => {
    const db = () => store.connection.peek()!.db;
    const data = Uint8Array.from({ length: 3500 }, (_, i) => (i * 5) % 256);
    await store.versions.saveVersion({ roomId: 'room_chunked_del', id: 'v', name: 'n', kind: 'auto', createdAt: 't', createdBy: 'm', snapshot: data });
    const stored = await db().collection<{ _id: string; blob: { id: string } }>('versions').findOne({ _id: 'room_chunked_del/v' });
    const parts = () => db().collection('blobs').find({ blobId: stored!.blob.id }).toArray();
    expect((await parts()).length).toBe(4);
    expect(await store.versions.deleteVersion('room_chunked_del', 'v')).toBe(true);
    expect(await parts()).toEqual([]);

    // As versions were stored before kinds existed.
    await db().collection<{ _id: string; [field: string]: unknown }>('versions').insertOne({
      _id: 'room_old_kind/v', roomId: 'room_old_kind', id: 'v', name: 'old', createdAt: 't', createdBy: 'm', order: new Date(0), blob: { id: 'none', parts: 1, length: 0 },
    });
    expect((await store.versions.listVersions('room_old_kind'))[0]?.kind).toBe('manual');
  });
});
