import type { RoomSettings } from '@ensemble/shared';
import type { JoinCodeRecord, MemberRecord, RoomRecord, RoomStore } from '../store';
import { StoreError } from '../store-error';
import { copyRecord, inner, type MemoryConnection, type MemoryData } from './data';

/** Rooms, join codes and members in memory. */
export class MemoryRoomStore implements RoomStore {
  constructor(private readonly connection: MemoryConnection) {}

  createRoom(room: RoomRecord): Promise<void> {
    return this.connection.run('createRoom', room.id, (data) => {
      if (data.rooms.has(room.id)) throw new StoreError('createRoom', room.id, 'conflict', `room ${room.id} already exists`);
      // Checked before either is written, so a refused room holds no join code.
      insertJoinCode(data, 'createRoom', { code: room.joinCode, roomId: room.id, role: 'editor', createdAt: room.createdAt });
      data.rooms.set(room.id, copyRecord(room));
    });
  }

  getRoom(roomId: string): Promise<RoomRecord | null> {
    return this.connection.run('getRoom', roomId, (data) => copyOrNull(data.rooms.get(roomId)));
  }

  updateRoomSettings(roomId: string, settings: RoomSettings): Promise<void> {
    return this.connection.run('updateRoomSettings', roomId, (data) => {
      const room = data.rooms.get(roomId);
      if (!room) throw new StoreError('updateRoomSettings', roomId, 'not_found', `room ${roomId} does not exist`);
      room.settings = copyRecord(settings);
    });
  }

  createJoinCode(code: JoinCodeRecord): Promise<void> {
    return this.connection.run('createJoinCode', code.roomId, (data) => insertJoinCode(data, 'createJoinCode', code));
  }

  findJoinCode(code: string): Promise<JoinCodeRecord | null> {
    return this.connection.run('findJoinCode', null, (data) => copyOrNull(data.joinCodes.get(code)));
  }

  listJoinCodes(roomId: string): Promise<JoinCodeRecord[]> {
    return this.connection.run('listJoinCodes', roomId, (data) =>
      [...data.joinCodes.values()]
        .filter((c) => c.roomId === roomId)
        .sort((a, b) => compare(a.createdAt, b.createdAt) || compare(a.code, b.code))
        .map((c) => copyRecord(c)),
    );
  }

  replaceJoinCodes(next: JoinCodeRecord): Promise<void> {
    return this.connection.run('replaceJoinCodes', next.roomId, (data) => {
      const room = data.rooms.get(next.roomId);
      if (!room) throw new StoreError('replaceJoinCodes', next.roomId, 'not_found', `room ${next.roomId} does not exist`);
      if (data.joinCodes.has(next.code)) throw new StoreError('replaceJoinCodes', next.roomId, 'conflict', `join code ${next.code} is already in use`);
      for (const [code, record] of data.joinCodes) if (record.roomId === next.roomId && record.role === next.role) data.joinCodes.delete(code);
      data.joinCodes.set(next.code, copyRecord(next));
      if (next.role === 'editor') room.joinCode = next.code;
    });
  }

  addMember(member: MemberRecord): Promise<void> {
    return this.connection.run('addMember', member.roomId, (data) => {
      inner(data.members, member.roomId).set(member.id, copyRecord(member));
    });
  }

  getMember(roomId: string, memberId: string): Promise<MemberRecord | null> {
    return this.connection.run('getMember', roomId, (data) => copyOrNull(data.members.get(roomId)?.get(memberId)));
  }

  /** In joining order (createdAt, then id). */
  listMembers(roomId: string): Promise<MemberRecord[]> {
    return this.connection.run('listMembers', roomId, (data) =>
      [...(data.members.get(roomId)?.values() ?? [])]
        .sort((a, b) => compare(a.createdAt, b.createdAt) || compare(a.id, b.id))
        .map((member) => copyRecord(member)),
    );
  }

  removeMember(roomId: string, memberId: string): Promise<boolean> {
    return this.connection.run('removeMember', roomId, (data) => data.members.get(roomId)?.delete(memberId) ?? false);
  }
}

function insertJoinCode(data: MemoryData, operation: string, code: JoinCodeRecord): void {
  const existing = data.joinCodes.get(code.code);
  if (existing) {
    if (existing.roomId === code.roomId && existing.role === code.role) return;
    throw new StoreError(operation, code.roomId, 'conflict', `join code ${code.code} is already in use`);
  }
  data.joinCodes.set(code.code, copyRecord(code));
}

function copyOrNull<T>(record: T | undefined): T | null {
  return record === undefined ? null : copyRecord(record);
}

/** Code-unit order, as SQLite's default collation and MongoDB's simple collation sort. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
