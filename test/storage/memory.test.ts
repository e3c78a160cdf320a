import { describe, expect, it } from 'vitest';
import { MemoryData, MemoryDocumentLog, MemoryStorage } from '../../server/src/storage/memory/index';
import { describeStoreConformance } from './store.conformance';

// One MemoryData for the suite: every open() is a new storage over the same data, like a file.
const data = new MemoryData();

/** Leaves covered log entries behind on writeSnapshot, like a crash between the two steps would elsewhere. */
class MemoryDocumentLogWithoutTruncation extends MemoryDocumentLog {
  protected override deleteCoveredUpdates(): void {}
}
class MemoryStorageWithoutLogTruncation extends MemoryStorage {
  override readonly documents = new MemoryDocumentLogWithoutTruncation(this.connection);
}

describeStoreConformance('MemoryStorage', {
  open: () => new MemoryStorage(data),
  openWithoutLogTruncation: () => new MemoryStorageWithoutLogTruncation(data),
  // Whatever the storage touches throws, as a failing backend would.
  breakBackend: async (storage) => {
    const failing = new Proxy({} as MemoryData, {
      get: () => {
        throw new Error('the memory backend failed');
      },
    });
    (storage as MemoryStorage).connection.set(failing);
  },
});

describe('MemoryStorage specifics', () => {
  it('copies bytes in and out, so callers cannot change what it holds', async () => {
    const storage = new MemoryStorage();
    await storage.init();
    const update = Uint8Array.of(1, 2, 3);
    await storage.documents.appendUpdates('room_alias', [update]);
    update[0] = 9;
    const loaded = await storage.documents.loadDocument('room_alias');
    expect(loaded.updates[0]!.data).toEqual(Uint8Array.of(1, 2, 3));
    loaded.updates[0]!.data[1] = 9;
    expect((await storage.documents.loadDocument('room_alias')).updates[0]!.data).toEqual(Uint8Array.of(1, 2, 3));

    const image = { roomId: 'room_alias', id: 'i', mime: 'image/png', data: Uint8Array.of(4, 5), createdAt: 't' };
    await storage.records.putImage(image);
    image.data[0] = 0;
    const got = await storage.records.getImage('room_alias', 'i');
    expect(got?.data).toEqual(Uint8Array.of(4, 5));
    got!.data[1] = 0;
    expect((await storage.records.getImage('room_alias', 'i'))?.data).toEqual(Uint8Array.of(4, 5));
    await storage.close();
  });

  it('does not share data between storages made without a MemoryData', async () => {
    const a = new MemoryStorage();
    const b = new MemoryStorage();
    await a.init();
    await b.init();
    await a.documents.appendUpdates('room_shared', [Uint8Array.of(1)]);
    expect(await b.documents.loadDocument('room_shared')).toEqual({ snapshot: null, snapshotSeq: 0, updates: [] });
  });
});
