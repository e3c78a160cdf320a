import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { RoomSettings } from '@ensemble/shared';
import type {
  FeedbackRecord,
  ImageRecord,
  JoinCodeRecord,
  MemberRecord,
  ProposalRecord,
  RoomRecord,
  Store,
  StoredDocument,
  VersionRecord,
} from './store';
import { StoreError } from './store-error';

export const SQLITE_FILE_NAME = 'ensemble.db';

export interface SqliteStoreOptions {
  /** Directory holding `ensemble.db` (created when missing). */
  dataDir: string;
}

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
];

interface RoomRow {
  id: string;
  name: string;
  kind: RoomRecord['kind'];
  join_code: string;
  owner_id: string;
  created_at: string;
  settings: string;
}
interface JoinCodeRow {
  code: string;
  room_id: string;
  role: JoinCodeRecord['role'];
  created_at: string;
}
interface MemberRow {
  room_id: string;
  id: string;
  display_name: string;
  role: MemberRecord['role'];
  created_at: string;
}
interface VersionRow {
  room_id: string;
  id: string;
  name: string;
  created_at: string;
  created_by: string;
  snapshot: Buffer;
}
interface FeedbackRow {
  room_id: string;
  member_id: string;
  proposal_id: string;
  alternative: number;
  action: FeedbackRecord['action'];
  text: string;
  at: string;
}
interface ImageRow {
  room_id: string;
  id: string;
  mime: string;
  data: Buffer;
  created_at: string;
  proposal_id: string | null;
}

/** better-sqlite3 binds Buffers; wrap without copying. */
function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Hand out plain Uint8Arrays (a view, no copy), so callers never depend on Buffer. */
function toBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * The embedded default store: one SQLite file (`<dataDir>/ensemble.db`).
 *
 * Durability: WAL journal with synchronous=NORMAL. A transaction is committed once its frames are
 * written to the WAL file, i.e. handed to the OS; an append whose promise resolved therefore
 * survives a crash or SIGKILL of this process. Only an OS crash or power loss can drop the last
 * few transactions (synchronous=FULL would fsync each commit to cover that too, at a large cost
 * per group commit); surviving a process crash is the requirement here.
 *
 * better-sqlite3 is synchronous, so every method runs to completion before another starts: each
 * statement sequence below is naturally serialized within the process.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly filename: string;
  private db: Database.Database | null = null;
  private statements: ReturnType<SqliteStore['prepareStatements']> | null = null;

  constructor(options: SqliteStoreOptions) {
    this.filename = path.resolve(options.dataDir, SQLITE_FILE_NAME);
  }

  async init(): Promise<void> {
    if (this.db) return;
    try {
      fs.mkdirSync(path.dirname(this.filename), { recursive: true });
      const db = new Database(this.filename);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      // Another process (e.g. a CLI tool) may hold the write lock briefly; wait instead of failing.
      db.pragma('busy_timeout = 5000');
      this.migrate(db);
      this.db = db;
      this.statements = this.prepareStatements(db);
    } catch (error) {
      throw StoreError.wrap('init', null, error);
    }
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    this.statements = null;
    db?.close();
  }

  // ---- rooms, members, join codes ----

  /** Also registers `room.joinCode` as an editor join code, atomically with the room. */
  async createRoom(room: RoomRecord): Promise<void> {
    const { db, s } = this.open('createRoom', room.id);
    try {
      db.transaction(() => {
        this.insertJoinCode('createRoom', { code: room.joinCode, roomId: room.id, role: 'editor', createdAt: room.createdAt });
        s.insertRoom.run({
          id: room.id,
          name: room.name,
          kind: room.kind,
          join_code: room.joinCode,
          owner_id: room.ownerId,
          created_at: room.createdAt,
          settings: JSON.stringify(room.settings),
        });
      })();
    } catch (error) {
      if (isUniqueViolation(error)) throw new StoreError('createRoom', room.id, 'conflict', `room ${room.id} already exists`);
      throw StoreError.wrap('createRoom', room.id, error);
    }
  }

  async getRoom(roomId: string): Promise<RoomRecord | null> {
    const { s } = this.open('getRoom', roomId);
    const row = s.getRoom.get(roomId);
    return row ? roomFromRow(row) : null;
  }

  async getRooms(roomIds: string[]): Promise<RoomRecord[]> {
    const { s } = this.open('getRooms', null);
    const unique = [...new Set(roomIds)];
    const rooms: RoomRecord[] = [];
    for (const id of unique) {
      const row = s.getRoom.get(id);
      if (row) rooms.push(roomFromRow(row));
    }
    return rooms;
  }

  async updateRoomSettings(roomId: string, settings: RoomSettings): Promise<void> {
    const { s } = this.open('updateRoomSettings', roomId);
    const result = s.updateRoomSettings.run({ id: roomId, settings: JSON.stringify(settings) });
    if (result.changes === 0) throw new StoreError('updateRoomSettings', roomId, 'not_found', `room ${roomId} does not exist`);
  }

  /**
   * Join codes are unique across rooms. Registering a code that already maps to the same room with
   * the same role is a no-op (so registering a room's default code again is harmless).
   */
  async createJoinCode(code: JoinCodeRecord): Promise<void> {
    const { db } = this.open('createJoinCode', code.roomId);
    try {
      db.transaction(() => this.insertJoinCode('createJoinCode', code))();
    } catch (error) {
      throw StoreError.wrap('createJoinCode', code.roomId, error);
    }
  }

  async findJoinCode(code: string): Promise<JoinCodeRecord | null> {
    const { s } = this.open('findJoinCode', null);
    const row = s.getJoinCode.get(code);
    return row ? { code: row.code, roomId: row.room_id, role: row.role, createdAt: row.created_at } : null;
  }

  /** Insert or replace by (roomId, id). */
  async addMember(member: MemberRecord): Promise<void> {
    const { s } = this.open('addMember', member.roomId);
    s.upsertMember.run({
      room_id: member.roomId,
      id: member.id,
      display_name: member.displayName,
      role: member.role,
      created_at: member.createdAt,
    });
  }

  async getMember(roomId: string, memberId: string): Promise<MemberRecord | null> {
    const { s } = this.open('getMember', roomId);
    const row = s.getMember.get(roomId, memberId);
    return row ? memberFromRow(row) : null;
  }

  /** In joining order (createdAt, then id). */
  async listMembers(roomId: string): Promise<MemberRecord[]> {
    const { s } = this.open('listMembers', roomId);
    return s.listMembers.all(roomId).map(memberFromRow);
  }

  async removeMember(roomId: string, memberId: string): Promise<boolean> {
    const { s } = this.open('removeMember', roomId);
    return s.deleteMember.run(roomId, memberId).changes > 0;
  }

  // ---- document ----

  async appendUpdates(roomId: string, updates: Uint8Array[]): Promise<number> {
    const { db, s } = this.open('appendUpdates', roomId);
    try {
      return db.transaction(() => {
        let seq = s.getLogHead.get(roomId)?.last_seq ?? 0;
        if (updates.length === 0) return seq;
        for (const update of updates) s.insertUpdate.run(roomId, ++seq, toBuffer(update));
        s.setLogHead.run(roomId, seq);
        return seq;
      })();
    } catch (error) {
      throw StoreError.wrap('appendUpdates', roomId, error);
    }
  }

  async loadDocument(roomId: string): Promise<StoredDocument> {
    const { db, s } = this.open('loadDocument', roomId);
    // One read transaction: a consistent view of snapshot and log.
    return db.transaction((): StoredDocument => {
      const snapshot = s.getSnapshot.get(roomId);
      const snapshotSeq = snapshot?.through_seq ?? 0;
      const updates = s.listUpdatesAfter.all(roomId, snapshotSeq).map((row) => ({ seq: row.seq, data: toBytes(row.data) }));
      return { snapshot: snapshot ? toBytes(snapshot.data) : null, snapshotSeq, updates };
    })();
  }

  /**
   * Snapshot and log truncation commit in one transaction. A snapshot older than the stored one is
   * ignored: the newer snapshot already covers it and the entries it would need are gone.
   */
  async writeSnapshot(roomId: string, snapshot: Uint8Array, throughSeq: number): Promise<void> {
    const { db, s } = this.open('writeSnapshot', roomId);
    if (!Number.isSafeInteger(throughSeq) || throughSeq < 0) {
      throw new StoreError('writeSnapshot', roomId, 'invalid', `throughSeq must be a non-negative integer, got ${throughSeq}`);
    }
    try {
      db.transaction(() => {
        const current = s.getSnapshot.get(roomId);
        if (current && current.through_seq > throughSeq) return;
        s.upsertSnapshot.run(roomId, throughSeq, toBuffer(snapshot));
        this.deleteCoveredUpdates(roomId, throughSeq);
        // Never hand out a seq the snapshot already claims to cover.
        const head = s.getLogHead.get(roomId)?.last_seq ?? 0;
        if (head < throughSeq) s.setLogHead.run(roomId, throughSeq);
      })();
    } catch (error) {
      throw StoreError.wrap('writeSnapshot', roomId, error);
    }
  }

  // ---- named versions ----

  async saveVersion(version: VersionRecord): Promise<void> {
    const { s } = this.open('saveVersion', version.roomId);
    try {
      s.insertVersion.run({
        room_id: version.roomId,
        id: version.id,
        name: version.name,
        created_at: version.createdAt,
        created_by: version.createdBy,
        snapshot: toBuffer(version.snapshot),
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new StoreError('saveVersion', version.roomId, 'conflict', `version ${version.id} already exists`);
      throw StoreError.wrap('saveVersion', version.roomId, error);
    }
  }

  async listVersions(roomId: string): Promise<Omit<VersionRecord, 'snapshot'>[]> {
    const { s } = this.open('listVersions', roomId);
    return s.listVersions.all(roomId).map((row) => ({
      roomId: row.room_id,
      id: row.id,
      name: row.name,
      createdAt: row.created_at,
      createdBy: row.created_by,
    }));
  }

  async getVersion(roomId: string, versionId: string): Promise<VersionRecord | null> {
    const { s } = this.open('getVersion', roomId);
    const row = s.getVersion.get(roomId, versionId);
    if (!row) return null;
    return {
      roomId: row.room_id,
      id: row.id,
      name: row.name,
      createdAt: row.created_at,
      createdBy: row.created_by,
      snapshot: toBytes(row.snapshot),
    };
  }

  // ---- AI proposals and feedback ----

  async saveProposal(proposal: ProposalRecord): Promise<void> {
    const { s } = this.open('saveProposal', proposal.roomId);
    s.upsertProposal.run(proposal.roomId, proposal.id, proposal.createdAt, JSON.stringify(proposal));
  }

  async getProposal(roomId: string, proposalId: string): Promise<ProposalRecord | null> {
    const { s } = this.open('getProposal', roomId);
    const row = s.getProposal.get(roomId, proposalId);
    return row ? (JSON.parse(row.record) as ProposalRecord) : null;
  }

  async listProposals(roomId: string, limit: number): Promise<ProposalRecord[]> {
    const { s } = this.open('listProposals', roomId);
    if (limit <= 0) return [];
    return s.listProposals.all(roomId, Math.floor(limit)).map((row) => JSON.parse(row.record) as ProposalRecord);
  }

  async addFeedback(feedback: FeedbackRecord): Promise<void> {
    const { s } = this.open('addFeedback', feedback.roomId);
    s.insertFeedback.run({
      room_id: feedback.roomId,
      member_id: feedback.memberId,
      proposal_id: feedback.proposalId,
      alternative: feedback.alternative,
      action: feedback.action,
      text: feedback.text,
      at: feedback.at,
    });
  }

  async listFeedback(roomId: string, memberId?: string): Promise<FeedbackRecord[]> {
    const { s } = this.open('listFeedback', roomId);
    const rows = memberId === undefined ? s.listFeedback.all(roomId) : s.listMemberFeedback.all(roomId, memberId);
    return rows.map((row) => ({
      roomId: row.room_id,
      memberId: row.member_id,
      proposalId: row.proposal_id,
      alternative: row.alternative,
      action: row.action,
      text: row.text,
      at: row.at,
    }));
  }

  // ---- images ----

  /** Insert or replace by (roomId, id). */
  async putImage(image: ImageRecord): Promise<void> {
    const { s } = this.open('putImage', image.roomId);
    s.upsertImage.run({
      room_id: image.roomId,
      id: image.id,
      mime: image.mime,
      data: toBuffer(image.data),
      created_at: image.createdAt,
      proposal_id: image.proposalId ?? null,
    });
  }

  async getImage(roomId: string, imageId: string): Promise<ImageRecord | null> {
    const { s } = this.open('getImage', roomId);
    const row = s.getImage.get(roomId, imageId);
    if (!row) return null;
    const image: ImageRecord = { roomId: row.room_id, id: row.id, mime: row.mime, data: toBytes(row.data), createdAt: row.created_at };
    if (row.proposal_id !== null) image.proposalId = row.proposal_id;
    return image;
  }

  // ---- internals ----

  /** Drops log entries a snapshot covers. Separate so tests can leave them behind, as a crash could in other stores. */
  protected deleteCoveredUpdates(roomId: string, throughSeq: number): void {
    this.statements!.deleteUpdatesThrough.run(roomId, throughSeq);
  }

  private open(operation: string, roomId: string | null) {
    if (!this.db || !this.statements) throw new StoreError(operation, roomId, 'closed', 'the SQLite store is not open (call init first)');
    return { db: this.db, s: this.statements };
  }

  /** Must run inside a transaction. */
  private insertJoinCode(operation: string, code: JoinCodeRecord): void {
    const s = this.statements!;
    const existing = s.getJoinCode.get(code.code);
    if (existing) {
      if (existing.room_id === code.roomId && existing.role === code.role) return;
      throw new StoreError(operation, code.roomId, 'conflict', `join code ${code.code} is already in use`);
    }
    s.insertJoinCode.run({ code: code.code, room_id: code.roomId, role: code.role, created_at: code.createdAt });
  }

  private migrate(db: Database.Database): void {
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

  private prepareStatements(db: Database.Database) {
    return {
      insertRoom: db.prepare<[RoomRow]>(
        'INSERT INTO rooms (id, name, kind, join_code, owner_id, created_at, settings) VALUES (@id, @name, @kind, @join_code, @owner_id, @created_at, @settings)',
      ),
      getRoom: db.prepare<[string], RoomRow>('SELECT * FROM rooms WHERE id = ?'),
      updateRoomSettings: db.prepare<[{ id: string; settings: string }]>('UPDATE rooms SET settings = @settings WHERE id = @id'),
      insertJoinCode: db.prepare<[JoinCodeRow]>('INSERT INTO join_codes (code, room_id, role, created_at) VALUES (@code, @room_id, @role, @created_at)'),
      getJoinCode: db.prepare<[string], JoinCodeRow>('SELECT * FROM join_codes WHERE code = ?'),
      upsertMember: db.prepare<[MemberRow]>(
        'INSERT OR REPLACE INTO members (room_id, id, display_name, role, created_at) VALUES (@room_id, @id, @display_name, @role, @created_at)',
      ),
      getMember: db.prepare<[string, string], MemberRow>('SELECT * FROM members WHERE room_id = ? AND id = ?'),
      listMembers: db.prepare<[string], MemberRow>('SELECT * FROM members WHERE room_id = ? ORDER BY created_at, id'),
      deleteMember: db.prepare<[string, string]>('DELETE FROM members WHERE room_id = ? AND id = ?'),
      getLogHead: db.prepare<[string], { last_seq: number }>('SELECT last_seq FROM log_heads WHERE room_id = ?'),
      setLogHead: db.prepare<[string, number]>('INSERT OR REPLACE INTO log_heads (room_id, last_seq) VALUES (?, ?)'),
      insertUpdate: db.prepare<[string, number, Buffer]>('INSERT INTO updates (room_id, seq, data) VALUES (?, ?, ?)'),
      listUpdatesAfter: db.prepare<[string, number], { seq: number; data: Buffer }>(
        'SELECT seq, data FROM updates WHERE room_id = ? AND seq > ? ORDER BY seq',
      ),
      deleteUpdatesThrough: db.prepare<[string, number]>('DELETE FROM updates WHERE room_id = ? AND seq <= ?'),
      getSnapshot: db.prepare<[string], { through_seq: number; data: Buffer }>('SELECT through_seq, data FROM snapshots WHERE room_id = ?'),
      upsertSnapshot: db.prepare<[string, number, Buffer]>('INSERT OR REPLACE INTO snapshots (room_id, through_seq, data) VALUES (?, ?, ?)'),
      insertVersion: db.prepare<[VersionRow]>(
        'INSERT INTO versions (room_id, id, name, created_at, created_by, snapshot) VALUES (@room_id, @id, @name, @created_at, @created_by, @snapshot)',
      ),
      // Newest first; versions saved in the same instant come out latest-saved first.
      listVersions: db.prepare<[string], Omit<VersionRow, 'snapshot'>>(
        'SELECT room_id, id, name, created_at, created_by FROM versions WHERE room_id = ? ORDER BY created_at DESC, rowid DESC',
      ),
      getVersion: db.prepare<[string, string], VersionRow>('SELECT * FROM versions WHERE room_id = ? AND id = ?'),
      upsertProposal: db.prepare<[string, string, string, string]>(
        'INSERT OR REPLACE INTO proposals (room_id, id, created_at, record) VALUES (?, ?, ?, ?)',
      ),
      getProposal: db.prepare<[string, string], { record: string }>('SELECT record FROM proposals WHERE room_id = ? AND id = ?'),
      listProposals: db.prepare<[string, number], { record: string }>(
        'SELECT record FROM proposals WHERE room_id = ? ORDER BY created_at DESC, id DESC LIMIT ?',
      ),
      insertFeedback: db.prepare<[FeedbackRow]>(
        'INSERT INTO feedback (room_id, member_id, proposal_id, alternative, action, text, at) VALUES (@room_id, @member_id, @proposal_id, @alternative, @action, @text, @at)',
      ),
      listFeedback: db.prepare<[string], FeedbackRow>('SELECT * FROM feedback WHERE room_id = ? ORDER BY at, rowid'),
      listMemberFeedback: db.prepare<[string, string], FeedbackRow>(
        'SELECT * FROM feedback WHERE room_id = ? AND member_id = ? ORDER BY at, rowid',
      ),
      upsertImage: db.prepare<[ImageRow]>(
        'INSERT OR REPLACE INTO images (room_id, id, mime, data, created_at, proposal_id) VALUES (@room_id, @id, @mime, @data, @created_at, @proposal_id)',
      ),
      getImage: db.prepare<[string, string], ImageRow>('SELECT * FROM images WHERE room_id = ? AND id = ?'),
    };
  }
}

function roomFromRow(row: RoomRow): RoomRecord {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    joinCode: row.join_code,
    ownerId: row.owner_id,
    createdAt: row.created_at,
    settings: JSON.parse(row.settings) as RoomSettings,
  };
}

function memberFromRow(row: MemberRow): MemberRecord {
  return { roomId: row.room_id, id: row.id, displayName: row.display_name, role: row.role, createdAt: row.created_at };
}
