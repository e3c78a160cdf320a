import type Database from 'better-sqlite3';
import type { VersionRecord, VersionStore } from '../store';
import { StoreError } from '../store-error';
import { isUniqueViolation, preparedStatements, toBuffer, toBytes, type SqliteConnection } from './connection';

interface VersionRow {
  room_id: string;
  id: string;
  name: string;
  created_at: string;
  created_by: string;
  snapshot: Buffer;
}

const statements = preparedStatements((db: Database.Database) => ({
  insertVersion: db.prepare<[VersionRow]>(
    'INSERT INTO versions (room_id, id, name, created_at, created_by, snapshot) VALUES (@room_id, @id, @name, @created_at, @created_by, @snapshot)',
  ),
  // Newest first; versions saved in the same instant come out latest-saved first.
  listVersions: db.prepare<[string], Omit<VersionRow, 'snapshot'>>(
    'SELECT room_id, id, name, created_at, created_by FROM versions WHERE room_id = ? ORDER BY created_at DESC, rowid DESC',
  ),
  getVersion: db.prepare<[string, string], VersionRow>('SELECT * FROM versions WHERE room_id = ? AND id = ?'),
}));

/** Named versions in SQLite (`versions`, snapshot inline as a BLOB). */
export class SqliteVersionStore implements VersionStore {
  constructor(private readonly connection: SqliteConnection) {}

  saveVersion(version: VersionRecord): Promise<void> {
    return this.connection.run('saveVersion', version.roomId, (db) => {
      const { roomId, id, name, createdAt, createdBy, snapshot } = version;
      try {
        statements(db).insertVersion.run({ room_id: roomId, id, name, created_at: createdAt, created_by: createdBy, snapshot: toBuffer(snapshot) });
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
}

function versionMetaFromRow(row: Omit<VersionRow, 'snapshot'>): Omit<VersionRecord, 'snapshot'> {
  return { roomId: row.room_id, id: row.id, name: row.name, createdAt: row.created_at, createdBy: row.created_by };
}
