import type Database from 'better-sqlite3';
import type { VersionRecord, VersionStore } from '../store';
import { StoreError } from '../store-error';
import { isUniqueViolation, preparedStatements, toBuffer, toBytes, type SqliteConnection } from './connection';

interface VersionRow {
  room_id: string;
  id: string;
  name: string;
  kind: string;
  created_at: string;
  created_by: string;
  snapshot: Buffer;
}

const statements = preparedStatements((db: Database.Database) => ({
  insertVersion: db.prepare<[VersionRow]>(
    'INSERT INTO versions (room_id, id, name, kind, created_at, created_by, snapshot) VALUES (@room_id, @id, @name, @kind, @created_at, @created_by, @snapshot)',
  ),
  // Newest first; versions saved in the same instant come out latest-saved first.
  listVersions: db.prepare<[string], Omit<VersionRow, 'snapshot'>>(
    'SELECT room_id, id, name, kind, created_at, created_by FROM versions WHERE room_id = ? ORDER BY created_at DESC, rowid DESC',
  ),
  getVersion: db.prepare<[string, string], VersionRow>('SELECT * FROM versions WHERE room_id = ? AND id = ?'),
  renameVersion: db.prepare<[string, string, string]>('UPDATE versions SET name = ? WHERE room_id = ? AND id = ?'),
  deleteVersion: db.prepare<[string, string]>('DELETE FROM versions WHERE room_id = ? AND id = ?'),
}));

/** Named versions in SQLite (`versions`, snapshot inline as a BLOB). */
export class SqliteVersionStore implements VersionStore {
  constructor(private readonly connection: SqliteConnection) {}

  saveVersion(version: VersionRecord): Promise<void> {
    return this.connection.run('saveVersion', version.roomId, (db) => {
      const { roomId, id, name, kind, createdAt, createdBy, snapshot } = version;
      try {
        statements(db).insertVersion.run({ room_id: roomId, id, name, kind, created_at: createdAt, created_by: createdBy, snapshot: toBuffer(snapshot) });
      } catch (error) {
        if (isUniqueViolation(error)) throw new StoreError('saveVersion', roomId, 'conflict', `version ${id} already exists`);
        throw error;
      }
    });
  }

  listVersions(roomId: string): Promise<Omit<VersionRecord, 'snapshot'>[]> {
    return this.connection.run('listVersions', roomId, (db) => statements(db).listVersions.all(roomId).map(versionMetaFromRow));
  }

  getVersion(roomId: string, versionId: string): Promise<VersionRecord | null> {
    return this.connection.run('getVersion', roomId, (db) => {
      const row = statements(db).getVersion.get(roomId, versionId);
      return row ? { ...versionMetaFromRow(row), snapshot: toBytes(row.snapshot) } : null;
    });
  }

  renameVersion(roomId: string, versionId: string, name: string): Promise<boolean> {
    return this.connection.run('renameVersion', roomId, (db) => statements(db).renameVersion.run(name, roomId, versionId).changes > 0);
  }

  deleteVersion(roomId: string, versionId: string): Promise<boolean> {
    return this.connection.run('deleteVersion', roomId, (db) => statements(db).deleteVersion.run(roomId, versionId).changes > 0);
  }
}

function versionMetaFromRow(row: Omit<VersionRow, 'snapshot'>): Omit<VersionRecord, 'snapshot'> {
  return { roomId: row.room_id, id: row.id, name: row.name, kind: row.kind === 'auto' ? 'auto' : 'manual', createdAt: row.created_at, createdBy: row.created_by };
}
