import type Database from 'better-sqlite3';
import type { DocumentLog, StoredDocument } from '../store';
import { checkThroughSeq } from '../store-error';
import { preparedStatements, toBuffer, toBytes, type SqliteConnection } from './connection';

const statements = preparedStatements((db: Database.Database) => ({
  getLogHead: db.prepare<[string], { last_seq: number }>('SELECT last_seq FROM log_heads WHERE room_id = ?'),
  setLogHead: db.prepare<[string, number]>('INSERT OR REPLACE INTO log_heads (room_id, last_seq) VALUES (?, ?)'),
  insertUpdate: db.prepare<[string, number, Buffer]>('INSERT INTO updates (room_id, seq, data) VALUES (?, ?, ?)'),
  listUpdatesAfter: db.prepare<[string, number], { seq: number; data: Buffer }>('SELECT seq, data FROM updates WHERE room_id = ? AND seq > ? ORDER BY seq'),
  deleteUpdatesThrough: db.prepare<[string, number]>('DELETE FROM updates WHERE room_id = ? AND seq <= ?'),
  getSnapshot: db.prepare<[string], { through_seq: number; data: Buffer }>('SELECT through_seq, data FROM snapshots WHERE room_id = ?'),
  upsertSnapshot: db.prepare<[string, number, Buffer]>('INSERT OR REPLACE INTO snapshots (room_id, through_seq, data) VALUES (?, ?, ?)'),
}));

/** The update log (`updates`, `log_heads`) and snapshots (`snapshots`) in SQLite. */
export class SqliteDocumentLog implements DocumentLog {
  constructor(private readonly connection: SqliteConnection) {}

  appendUpdates(roomId: string, updates: Uint8Array[]): Promise<number> {
    return this.connection.run('appendUpdates', roomId, (db) => {
      const s = statements(db);
      return db.transaction(() => {
        let seq = s.getLogHead.get(roomId)?.last_seq ?? 0;
        if (updates.length === 0) return seq;
        for (const update of updates) s.insertUpdate.run(roomId, ++seq, toBuffer(update));
        s.setLogHead.run(roomId, seq);
        return seq;
      })();
    });
  }

  loadDocument(roomId: string): Promise<StoredDocument> {
    return this.connection.run('loadDocument', roomId, (db) => {
      const s = statements(db);
      // One read transaction: a consistent view of snapshot and log.
      return db.transaction((): StoredDocument => {
        const snapshot = s.getSnapshot.get(roomId);
        const snapshotSeq = snapshot?.through_seq ?? 0;
        const updates = s.listUpdatesAfter.all(roomId, snapshotSeq).map((row) => ({ seq: row.seq, data: toBytes(row.data) }));
        return { snapshot: snapshot ? toBytes(snapshot.data) : null, snapshotSeq, updates };
      })();
    });
  }

  /**
   * Snapshot and log truncation commit in one transaction. A snapshot older than the stored one is
   * ignored: the newer snapshot already covers it and the entries it would need are gone.
   */
  writeSnapshot(roomId: string, snapshot: Uint8Array, throughSeq: number): Promise<void> {
    return this.connection.run('writeSnapshot', roomId, (db) => {
      checkThroughSeq(roomId, throughSeq);
      const s = statements(db);
      db.transaction(() => {
        const current = s.getSnapshot.get(roomId);
        if (current && current.through_seq > throughSeq) return;
        s.upsertSnapshot.run(roomId, throughSeq, toBuffer(snapshot));
        this.deleteCoveredUpdates(db, roomId, throughSeq);
        // Never hand out a seq the snapshot already claims to cover.
        const head = s.getLogHead.get(roomId)?.last_seq ?? 0;
        if (head < throughSeq) s.setLogHead.run(roomId, throughSeq);
      })();
    });
  }

  /** Drops log entries a snapshot covers. Separate so tests can leave them behind, as a crash could in other stores. */
  protected deleteCoveredUpdates(db: Database.Database, roomId: string, throughSeq: number): void {
    statements(db).deleteUpdatesThrough.run(roomId, throughSeq);
  }
}
