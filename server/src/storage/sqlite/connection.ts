import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BackendHandle, StoreError } from '../store-error';

export const SQLITE_FILE_NAME = 'ensemble.db';

/**
 * Schema migrations, applied in order inside one transaction each; `schema_version` records how
 * many have run. Append new entries, never edit shipped ones.
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE rooms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    join_code TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    settings TEXT NOT NULL
  );
  CREATE TABLE join_codes (
    code TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX join_codes_by_room ON join_codes (room_id);
  CREATE TABLE members (
    room_id TEXT NOT NULL,
    id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (room_id, id)
  ) WITHOUT ROWID;
  -- Highest seq ever allocated per room; survives compaction, so seqs never repeat.
  CREATE TABLE log_heads (
    room_id TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE updates (
    room_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (room_id, seq)
  );
  CREATE TABLE snapshots (
    room_id TEXT PRIMARY KEY,
    through_seq INTEGER NOT NULL,
    data BLOB NOT NULL
  );
  CREATE TABLE versions (
    room_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    snapshot BLOB NOT NULL,
    UNIQUE (room_id, id)
  );
  CREATE INDEX versions_by_time ON versions (room_id, created_at);
  -- Proposals are read whole; the record is kept as JSON, with the keys needed for lookups.
  CREATE TABLE proposals (
    room_id TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (room_id, id)
  );
  CREATE INDEX proposals_by_time ON proposals (room_id, created_at);
  CREATE TABLE feedback (
    room_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    proposal_id TEXT NOT NULL,
    alternative INTEGER NOT NULL,
    action TEXT NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL
  );
  CREATE INDEX feedback_by_room ON feedback (room_id, member_id, at);
  CREATE TABLE images (
    room_id TEXT NOT NULL,
    id TEXT NOT NULL,
    mime TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at TEXT NOT NULL,
    proposal_id TEXT,
    PRIMARY KEY (room_id, id)
  );
  `,
  // Versions the server takes by itself (schedule, before a restore) are 'auto'.
  `ALTER TABLE versions ADD COLUMN kind TEXT NOT NULL DEFAULT 'manual';`,
];

/**
 * The SQLite file (`<dataDir>/ensemble.db`) every SQLite slice shares, and the one place where
 * SQLite failures become StoreErrors (`run`, from BackendHandle).
 *
 * Durability: WAL journal with synchronous=NORMAL. A transaction is committed once its frames are
 * written to the WAL file, i.e. handed to the OS; an append whose promise resolved therefore
 * survives a crash or SIGKILL of this process. Only an OS crash or power loss can drop the last
 * few transactions (synchronous=FULL would fsync each commit to cover that too, at a large cost
 * per group commit); surviving a process crash is the requirement here.
 *
 * better-sqlite3 is synchronous, so every operation runs to completion before another starts: each
 * statement sequence in the slices is naturally serialized within the process.
 */
export class SqliteConnection extends BackendHandle<Database.Database> {
  readonly filename: string;

  constructor(dataDir: string) {
    super('SQLite');
    this.filename = path.resolve(dataDir, SQLITE_FILE_NAME);
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    try {
      fs.mkdirSync(path.dirname(this.filename), { recursive: true });
      const db = new Database(this.filename);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      // Another process (e.g. a CLI tool) may hold the write lock briefly; wait instead of failing.
      db.pragma('busy_timeout = 5000');
      migrate(db);
      this.set(db);
    } catch (error) {
      throw StoreError.wrap('init', null, error);
    }
  }

  async close(): Promise<void> {
    const db = this.peek();
    this.set(null);
    db?.close();
  }
}

/**
 * A slice's prepared statements, prepared once per database handle (on first use, so a reopened
 * store prepares them again for its new handle).
 */
export function preparedStatements<S>(prepare: (db: Database.Database) => S): (db: Database.Database) => S {
  const cache = new WeakMap<Database.Database, S>();
  return (db) => {
    let statements = cache.get(db);
    if (!statements) cache.set(db, (statements = prepare(db)));
    return statements;
  };
}

/** better-sqlite3 binds Buffers; wrap without copying. */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Hand out plain Uint8Arrays (a view, no copy), so callers never depend on Buffer. */
export function toBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  db.transaction(() => {
    const row = db.prepare<[], { version: number }>('SELECT version FROM schema_version').get();
    let version = row?.version ?? 0;
    if (!row) db.prepare('INSERT INTO schema_version (version) VALUES (0)').run();
    if (version > MIGRATIONS.length) {
      throw new Error(`database schema version ${version} is newer than this server understands (${MIGRATIONS.length})`);
    }
    for (; version < MIGRATIONS.length; version++) db.exec(MIGRATIONS[version]!);
    db.prepare('UPDATE schema_version SET version = ?').run(version);
  }).immediate();
}
