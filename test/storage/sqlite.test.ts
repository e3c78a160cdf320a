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
});
