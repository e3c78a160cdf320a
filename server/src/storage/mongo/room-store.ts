import type { Db } from 'mongodb';
import type { RoomSettings } from '@ensemble/shared';
import type { JoinCodeRecord, MemberRecord, RoomRecord, RoomStore } from '../store';
import { StoreError } from '../store-error';
import { compositeId, isDuplicateKey, type MongoConnection } from './connection';

interface RoomRow extends Omit<RoomRecord, 'id'> {
  _id: string; // the room id
}
interface JoinCodeDocument extends Omit<JoinCodeRecord, 'code'> {
  _id: string; // the code
}
interface MemberDocument extends MemberRecord {
  _id: string; // roomId/memberId
}

const rooms = (db: Db) => db.collection<RoomRow>('rooms');
const joinCodes = (db: Db) => db.collection<JoinCodeDocument>('joinCodes');
const members = (db: Db) => db.collection<MemberDocument>('members');

/** Rooms, join codes and members in MongoDB. */
export class MongoRoomStore implements RoomStore {
  constructor(private readonly connection: MongoConnection) {}

  createRoom(room: RoomRecord): Promise<void> {
    return this.connection.run('createRoom', room.id, async ({ db }) => {
      const codeIsNew = await insertJoinCode(db, 'createRoom', { code: room.joinCode, roomId: room.id, role: 'editor', createdAt: room.createdAt });
      try {
        const { id, name, kind, joinCode, ownerId, createdAt, settings } = room;
        await rooms(db).insertOne({ _id: id, name, kind, joinCode, ownerId, createdAt, settings });
      } catch (error) {
        // Undo the join code so a failed creation does not hold it (no transactions to roll back).
        if (codeIsNew) await joinCodes(db).deleteMany({ _id: room.joinCode, roomId: room.id });
        if (isDuplicateKey(error)) throw new StoreError('createRoom', room.id, 'conflict', `room ${room.id} already exists`);
        throw error;
      }
    });
  }

  getRoom(roomId: string): Promise<RoomRecord | null> {
    return this.connection.run('getRoom', roomId, async ({ db }) => {
      const doc = await rooms(db).findOne({ _id: roomId });
      return doc ? { id: doc._id, name: doc.name, kind: doc.kind, joinCode: doc.joinCode, ownerId: doc.ownerId, createdAt: doc.createdAt, settings: doc.settings } : null;
    });
  }

  updateRoomSettings(roomId: string, settings: RoomSettings): Promise<void> {
    return this.connection.run('updateRoomSettings', roomId, async ({ db }) => {
      const result = await rooms(db).updateOne({ _id: roomId }, { $set: { settings } });
      if (result.matchedCount === 0) throw new StoreError('updateRoomSettings', roomId, 'not_found', `room ${roomId} does not exist`);
    });
  }

  createJoinCode(code: JoinCodeRecord): Promise<void> {
    return this.connection.run('createJoinCode', code.roomId, async ({ db }) => {
      await insertJoinCode(db, 'createJoinCode', code);
    });
  }

  findJoinCode(code: string): Promise<JoinCodeRecord | null> {
    return this.connection.run('findJoinCode', null, async ({ db }) => {
      const doc = await joinCodes(db).findOne({ _id: code });
      return doc ? { code: doc._id, roomId: doc.roomId, role: doc.role, createdAt: doc.createdAt } : null;
    });
  }

  listJoinCodes(roomId: string): Promise<JoinCodeRecord[]> {
    return this.connection.run('listJoinCodes', roomId, async ({ db }) => {
      const docs = await joinCodes(db).find({ roomId }).sort({ createdAt: 1, _id: 1 }).toArray();
      return docs.map((doc) => ({ code: doc._id, roomId: doc.roomId, role: doc.role, createdAt: doc.createdAt }));
    });
  }

  /** No transactions: the new code is inserted first (so a clash changes nothing), then the old ones go. */
  replaceJoinCodes(next: JoinCodeRecord): Promise<void> {
    return this.connection.run('replaceJoinCodes', next.roomId, async ({ db }) => {
      if (!(await rooms(db).findOne({ _id: next.roomId }))) throw new StoreError('replaceJoinCodes', next.roomId, 'not_found', `room ${next.roomId} does not exist`);
      try {
        await joinCodes(db).insertOne({ _id: next.code, roomId: next.roomId, role: next.role, createdAt: next.createdAt });
      } catch (error) {
        if (isDuplicateKey(error)) throw new StoreError('replaceJoinCodes', next.roomId, 'conflict', `join code ${next.code} is already in use`);
        throw error;
      }
      if (next.role === 'editor') await rooms(db).updateOne({ _id: next.roomId }, { $set: { joinCode: next.code } });
      await joinCodes(db).deleteMany({ roomId: next.roomId, role: next.role, _id: { $ne: next.code } });
    });
  }

  addMember(member: MemberRecord): Promise<void> {
    return this.connection.run('addMember', member.roomId, async ({ db }) => {
      const _id = compositeId(member.roomId, member.id);
      const { roomId, id, displayName, role, createdAt } = member;
      const doc: MemberDocument = { _id, roomId, id, displayName, role, createdAt };
      await members(db).replaceOne({ _id }, doc, { upsert: true });
    });
  }

  getMember(roomId: string, memberId: string): Promise<MemberRecord | null> {
    return this.connection.run('getMember', roomId, async ({ db }) => {
      const doc = await members(db).findOne({ _id: compositeId(roomId, memberId) });
      return doc ? memberFromDocument(doc) : null;
    });
  }

  listMembers(roomId: string): Promise<MemberRecord[]> {
    return this.connection.run('listMembers', roomId, async ({ db }) => {
      const docs = await members(db).find({ roomId }).sort({ createdAt: 1, id: 1 }).toArray();
      return docs.map(memberFromDocument);
    });
  }

  removeMember(roomId: string, memberId: string): Promise<boolean> {
    return this.connection.run('removeMember', roomId, async ({ db }) => {
      const result = await members(db).deleteOne({ _id: compositeId(roomId, memberId) });
      return result.deletedCount > 0;
    });
  }
}

/** Returns whether the code was newly inserted (false: the identical code already existed). */
async function insertJoinCode(db: Db, operation: string, code: JoinCodeRecord): Promise<boolean> {
  try {
    await joinCodes(db).insertOne({ _id: code.code, roomId: code.roomId, role: code.role, createdAt: code.createdAt });
    return true;
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
    const existing = await joinCodes(db).findOne({ _id: code.code });
    if (existing && existing.roomId === code.roomId && existing.role === code.role) return false;
    throw new StoreError(operation, code.roomId, 'conflict', `join code ${code.code} is already in use`);
  }
}

function memberFromDocument(doc: MemberDocument): MemberRecord {
  return { roomId: doc.roomId, id: doc.id, displayName: doc.displayName, role: doc.role, createdAt: doc.createdAt };
}
