import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteDocumentLog, SqliteStorage } from '../../server/src/storage/sqlite/index';
import { createStore } from '../../server/src/storage/index';
import { describeStoreConformance } from './store.conformance';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-sqlite-'));

/** Leaves covered log entries behind on writeSnapshot, like a crash between the two steps would elsewhere. */
class SqliteDocumentLogWithoutTruncation extends SqliteDocumentLog {
  protected override deleteCoveredUpdates(): void {}
}
class SqliteStorageWithoutLogTruncation extends SqliteStorage {
  override readonly documents = new SqliteDocumentLogWithoutTruncation(this.connection);
}

describeStoreConformance('SqliteStorage', {
  open: () => new SqliteStorage({ dataDir }),
  openWithoutLogTruncation: () => new SqliteStorageWithoutLogTruncation({ dataDir }),
  // The file's handle closes under the storage, as a failing disk would make every statement throw.
  breakBackend: async (storage) => {
    (storage as SqliteStorage).connection.peek()!.close();
  },
  cleanup: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
});

describe('SqliteStorage specifics', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates <ENSEMBLE_DATA_DIR>/ensemble.db (and missing directories) in WAL mode', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-sqlite-dir-'));
    dirs.push(root);
    const nested = path.join(root, 'a', 'b');
    const store = createStore({ ENSEMBLE_DATA_DIR: nested, MONGODB_URI: undefined, MONGODB_DB: 'ensemble' });
    expect(store).toBeInstanceOf(SqliteStorage);
    expect(store.kind).toBe('sqlite');
    await store.init();
    await store.documents.appendUpdates('room_wal_check', [Uint8Array.of(1)]);
    expect(fs.existsSync(path.join(nested, 'ensemble.db'))).toBe(true);
    expect(fs.existsSync(path.join(nested, 'ensemble.db-wal'))).toBe(true);
    await store.close();
  });

  it('migrates a database from before version kinds: its versions read as manual, new ones keep their kind', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-sqlite-kinds-'));
    dirs.push(root);
    const first = new SqliteStorage({ dataDir: root });
    await first.init();
    // Back to schema 1 (no kind column), with a version stored the way that schema stored it.
    const raw = first.connection.peek()!;
    raw.exec('ALTER TABLE versions DROP COLUMN kind; UPDATE schema_version SET version = 1;');
    raw
      .prepare('INSERT INTO versions (room_id, id, name, created_at, created_by, snapshot) VALUES (?, ?, ?, ?, ?, ?)')
      .run('room_old_1', 'v-old', 'Old draft', '2024-06-01T00:00:00.000Z', 'm-1', Buffer.from([1, 2]));
    await first.close();

    const store = new SqliteStorage({ dataDir: root });
    await store.init();
    try {
      expect(await store.versions.getVersion('room_old_1', 'v-old')).toEqual({
        roomId: 'room_old_1', id: 'v-old', name: 'Old draft', kind: 'manual', createdAt: '2024-06-01T00:00:00.000Z', createdBy: 'm-1', snapshot: Uint8Array.of(1, 2),
      });
      await store.versions.saveVersion({ roomId: 'room_old_1', id: 'v-new', name: 'Auto', kind: 'auto', createdAt: '2024-06-02T00:00:00.000Z', createdBy: 'server', snapshot: Uint8Array.of(3) });
      expect((await store.versions.listVersions('room_old_1')).map((v) => v.kind)).toEqual(['auto', 'manual']);
    } finally {
      await store.close();
    }
  });
});
