import type Database from 'better-sqlite3';
import type { RoomSettings } from '@ensemble/shared';
import type { JoinCodeRecord, MemberRecord, RoomRecord, RoomStore } from '../store';
import { StoreError } from '../store-error';
import { isUniqueViolation, preparedStatements, type SqliteConnection } from './connection';

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

const statements = preparedStatements((db: Database.Database) => ({
  insertRoom: db.prepare<[RoomRow]>(
    'INSERT INTO rooms (id, name, kind, join_code, owner_id, created_at, settings) VALUES (@id, @name, @kind, @join_code, @owner_id, @created_at, @settings)',
  ),
  getRoom: db.prepare<[string], RoomRow>('SELECT * FROM rooms WHERE id = ?'),
  updateRoomSettings: db.prepare<[{ id: string; settings: string }]>('UPDATE rooms SET settings = @settings WHERE id = @id'),
  insertJoinCode: db.prepare<[JoinCodeRow]>('INSERT INTO join_codes (code, room_id, role, created_at) VALUES (@code, @room_id, @role, @created_at)'),
  getJoinCode: db.prepare<[string], JoinCodeRow>('SELECT * FROM join_codes WHERE code = ?'),
  listJoinCodes: db.prepare<[string], JoinCodeRow>('SELECT * FROM join_codes WHERE room_id = ? ORDER BY created_at, code'),
  deleteJoinCodes: db.prepare<[string, string]>('DELETE FROM join_codes WHERE room_id = ? AND role = ?'),
  setRoomJoinCode: db.prepare<[string, string]>('UPDATE rooms SET join_code = ? WHERE id = ?'),
  upsertMember: db.prepare<[MemberRow]>(
    'INSERT OR REPLACE INTO members (room_id, id, display_name, role, created_at) VALUES (@room_id, @id, @display_name, @role, @created_at)',
  ),
  getMember: db.prepare<[string, string], MemberRow>('SELECT * FROM members WHERE room_id = ? AND id = ?'),
  listMembers: db.prepare<[string], MemberRow>('SELECT * FROM members WHERE room_id = ? ORDER BY created_at, id'),
  deleteMember: db.prepare<[string, string]>('DELETE FROM members WHERE room_id = ? AND id = ?'),
}));
type Statements = ReturnType<typeof statements>;

/** Rooms, join codes and members in SQLite. */
export class SqliteRoomStore implements RoomStore {
  constructor(private readonly connection: SqliteConnection) {}

  /** Also registers `room.joinCode` as an editor join code, atomically with the room. */
  createRoom(room: RoomRecord): Promise<void> {
    return this.connection.run('createRoom', room.id, (db) => {
      const s = statements(db);
      try {
        db.transaction(() => {
          insertJoinCode(s, 'createRoom', { code: room.joinCode, roomId: room.id, role: 'editor', createdAt: room.createdAt });
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
        throw error;
      }
    });
  }

  getRoom(roomId: string): Promise<RoomRecord | null> {
    return this.connection.run('getRoom', roomId, (db) => {
      const row = statements(db).getRoom.get(roomId);
      return row ? roomFromRow(row) : null;
    });
  }

  updateRoomSettings(roomId: string, settings: RoomSettings): Promise<void> {
    return this.connection.run('updateRoomSettings', roomId, (db) => {
      const result = statements(db).updateRoomSettings.run({ id: roomId, settings: JSON.stringify(settings) });
      if (result.changes === 0) throw new StoreError('updateRoomSettings', roomId, 'not_found', `room ${roomId} does not exist`);
    });
  }

  /**
   * Join codes are unique across rooms. Registering a code that already maps to the same room with
   * the same role is a no-op (so registering a room's default code again is harmless).
   */
  createJoinCode(code: JoinCodeRecord): Promise<void> {
    return this.connection.run('createJoinCode', code.roomId, (db) => {
      db.transaction(() => insertJoinCode(statements(db), 'createJoinCode', code))();
    });
  }

  findJoinCode(code: string): Promise<JoinCodeRecord | null> {
    return this.connection.run('findJoinCode', null, (db) => {
      const row = statements(db).getJoinCode.get(code);
      return row ? joinCodeFromRow(row) : null;
    });
  }

  listJoinCodes(roomId: string): Promise<JoinCodeRecord[]> {
    return this.connection.run('listJoinCodes', roomId, (db) => statements(db).listJoinCodes.all(roomId).map(joinCodeFromRow));
  }

  replaceJoinCodes(next: JoinCodeRecord): Promise<void> {
    return this.connection.run('replaceJoinCodes', next.roomId, (db) => {
      const s = statements(db);
      db.transaction(() => {
        if (!s.getRoom.get(next.roomId)) throw new StoreError('replaceJoinCodes', next.roomId, 'not_found', `room ${next.roomId} does not exist`);
        if (s.getJoinCode.get(next.code)) throw new StoreError('replaceJoinCodes', next.roomId, 'conflict', `join code ${next.code} is already in use`);
        s.deleteJoinCodes.run(next.roomId, next.role);
        s.insertJoinCode.run({ code: next.code, room_id: next.roomId, role: next.role, created_at: next.createdAt });
        if (next.role === 'editor') s.setRoomJoinCode.run(next.code, next.roomId);
      })();
    });
  }

  /** Insert or replace by (roomId, id). */
  addMember(member: MemberRecord): Promise<void> {
    return this.connection.run('addMember', member.roomId, (db) => {
      const { roomId, id, displayName, role, createdAt } = member;
      statements(db).upsertMember.run({ room_id: roomId, id, display_name: displayName, role, created_at: createdAt });
    });
  }

  getMember(roomId: string, memberId: string): Promise<MemberRecord | null> {
    return this.connection.run('getMember', roomId, (db) => {
      const row = statements(db).getMember.get(roomId, memberId);
      return row ? memberFromRow(row) : null;
    });
  }

  /** In joining order (createdAt, then id). */
  listMembers(roomId: string): Promise<MemberRecord[]> {
    return this.connection.run('listMembers', roomId, (db) => statements(db).listMembers.all(roomId).map(memberFromRow));
  }

  removeMember(roomId: string, memberId: string): Promise<boolean> {
    return this.connection.run('removeMember', roomId, (db) => statements(db).deleteMember.run(roomId, memberId).changes > 0);
  }
}

/** Must run inside a transaction. */
function insertJoinCode(s: Statements, operation: string, code: JoinCodeRecord): void {
  const existing = s.getJoinCode.get(code.code);
  if (existing) {
    if (existing.room_id === code.roomId && existing.role === code.role) return;
    throw new StoreError(operation, code.roomId, 'conflict', `join code ${code.code} is already in use`);
  }
  s.insertJoinCode.run({ code: code.code, room_id: code.roomId, role: code.role, created_at: code.createdAt });
}

function roomFromRow(row: RoomRow): RoomRecord {
  const { id, name, kind, join_code: joinCode, owner_id: ownerId, created_at: createdAt } = row;
  return { id, name, kind, joinCode, ownerId, createdAt, settings: JSON.parse(row.settings) as RoomSettings };
}

function joinCodeFromRow(row: JoinCodeRow): JoinCodeRecord {
  return { code: row.code, roomId: row.room_id, role: row.role, createdAt: row.created_at };
}

function memberFromRow(row: MemberRow): MemberRecord {
  return { roomId: row.room_id, id: row.id, displayName: row.display_name, role: row.role, createdAt: row.created_at };
}
