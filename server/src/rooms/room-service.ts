import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as Y from 'yjs';
import {
  defaultRoomSettings,
  type CreateRoomBody,
  type JoinRoomBody,
  type Member,
  type Role,
  type Room,
  type RoomResponse,
  type RoomSettings,
  type TokenClaims,
  type UpdateRoomSettingsBody,
  type VersionInfo,
} from '@ensemble/shared';
import type { RoomEventSource, RoomEvents, TokenService } from '../context';
import { HttpError } from '../http/errors';
import type { DocumentRegistry } from '../sync/document-registry';
import type { MemberRecord, RoomRecord, Storage, VersionRecord } from '../storage/store';
import { newId, newJoinCode } from './ids';

const isConflict = (err: unknown) => (err as { code?: unknown })?.code === 'conflict';

/** Rooms, members, join codes and named versions: what the REST routes do, without HTTP. */
export class RoomService implements RoomEventSource {
  private readonly events = new EventEmitter();

  constructor(
    private readonly store: Pick<Storage, 'rooms' | 'versions'>,
    private readonly tokens: TokenService,
    private readonly documents: DocumentRegistry,
    /** Key for the per-room viewer join code shown to viewers (derived, so it needs no listing). */
    private readonly codeKey: string,
  ) {}

  on<E extends keyof RoomEvents>(event: E, listener: RoomEvents[E]): void {
    this.events.on(event, listener);
  }

  off<E extends keyof RoomEvents>(event: E, listener: RoomEvents[E]): void {
    this.events.off(event, listener);
  }

  async create(body: CreateRoomBody): Promise<RoomResponse> {
    const now = new Date().toISOString();
    const owner: MemberRecord = { roomId: '', id: newId(), displayName: body.displayName ?? 'Owner', role: 'owner', createdAt: now };
    for (let attempt = 0; ; attempt++) {
      const record: RoomRecord = {
        id: newId(),
        name: body.name,
        kind: body.kind,
        joinCode: newJoinCode(),
        ownerId: owner.id,
        createdAt: now,
        settings: defaultRoomSettings(body.kind),
      };
      try {
        await this.store.rooms.createRoom(record);
      } catch (err) {
        if (isConflict(err) && attempt < 5) continue; // join code (or id) collision
        throw err;
      }
      owner.roomId = record.id;
      await this.store.rooms.addMember(owner);
      return this.respond(record, owner, record.joinCode);
    }
  }

  async join(body: JoinRoomBody): Promise<RoomResponse> {
    const code = await this.store.rooms.findJoinCode(body.joinCode);
    const record = code ? await this.store.rooms.getRoom(code.roomId) : null;
    if (!code || !record) throw new HttpError(404, 'join_code_not_found', 'no room has this join code');
    // A viewer-only code grants viewer whatever was asked for.
    const role: Role = code.role === 'viewer' ? 'viewer' : (body.role ?? 'editor');
    const member: MemberRecord = { roomId: record.id, id: newId(), displayName: body.displayName, role, createdAt: new Date().toISOString() };
    await this.store.rooms.addMember(member);
    return this.respond(record, member, role === 'viewer' ? await this.viewerCode(record.id) : record.joinCode);
  }

  async get(claims: TokenClaims): Promise<{ room: Room; member: Member }> {
    const record = await this.requireRoom(claims.roomId);
    const member = await this.store.rooms.getMember(record.id, claims.memberId);
    if (!member) throw new HttpError(403, 'not_a_member', 'this token’s member is not in the room');
    const joinCode = member.role === 'viewer' ? await this.viewerCode(record.id) : record.joinCode;
    return { room: toRoom(record, joinCode), member: toMember(member) };
  }

  async createJoinCode(claims: TokenClaims, role: 'editor' | 'viewer'): Promise<{ joinCode: string; role: 'editor' | 'viewer' }> {
    this.requireRole(claims, ['owner'], 'only the owner can create join codes');
    await this.requireRoom(claims.roomId);
    for (let attempt = 0; ; attempt++) {
      const code = newJoinCode();
      try {
        await this.store.rooms.createJoinCode({ code, roomId: claims.roomId, role, createdAt: new Date().toISOString() });
        return { joinCode: code, role };
      } catch (err) {
        if (!isConflict(err) || attempt >= 5) throw err;
      }
    }
  }

  async listMembers(claims: TokenClaims): Promise<Member[]> {
    this.requireRole(claims, ['owner'], 'only the owner can list members');
    await this.requireRoom(claims.roomId);
    return (await this.store.rooms.listMembers(claims.roomId)).map(toMember);
  }

  /**
   * Owner only. Deleting the row is what revokes the member: every auth path looks it up, so their
   * token is refused from then on; `memberRemoved` lets the sync server and the /collab channel
   * close the sockets they already have open.
   */
  async removeMember(claims: TokenClaims, memberId: string): Promise<Member> {
    this.requireRole(claims, ['owner'], 'only the owner can remove members');
    await this.requireRoom(claims.roomId);
    const member = await this.store.rooms.getMember(claims.roomId, memberId);
    if (!member) throw new HttpError(404, 'member_not_found', 'no such member in this room');
    if (member.role === 'owner') throw new HttpError(409, 'owner_not_removable', 'the owner cannot be removed');
    if (!(await this.store.rooms.removeMember(claims.roomId, memberId))) throw new HttpError(404, 'member_not_found', 'no such member in this room');
    this.events.emit('memberRemoved', claims.roomId, memberId);
    return toMember(member);
  }

  async updateSettings(claims: TokenClaims, patch: UpdateRoomSettingsBody): Promise<RoomSettings> {
    this.requireRole(claims, ['owner'], 'only the owner can change settings');
    const record = await this.requireRoom(claims.roomId);
    const settings: RoomSettings = { ...record.settings, ...stripUndefined(patch) };
    if (record.kind === 'classroom') settings.moderation = true; // always on for classrooms
    await this.store.rooms.updateRoomSettings(record.id, settings);
    this.events.emit('settingsChanged', record.id, settings);
    return settings;
  }

  async saveVersion(claims: TokenClaims, name: string): Promise<VersionInfo> {
    this.requireRole(claims, ['owner', 'editor'], 'viewers cannot save versions');
    await this.requireRoom(claims.roomId);
    const room = await this.documents.acquire(claims.roomId);
    let snapshot: Uint8Array;
    try {
      snapshot = Y.encodeStateAsUpdate(room.doc);
    } finally {
      this.documents.release(claims.roomId);
    }
    const version: VersionRecord = {
      roomId: claims.roomId,
      id: newId(),
      name,
      createdAt: new Date().toISOString(),
      createdBy: claims.memberId,
      snapshot,
    };
    await this.store.versions.saveVersion(version);
    return toVersionInfo(version);
  }

  async listVersions(claims: TokenClaims): Promise<VersionInfo[]> {
    await this.requireRoom(claims.roomId);
    return (await this.store.versions.listVersions(claims.roomId)).map(toVersionInfo);
  }

  async restoreVersion(claims: TokenClaims, versionId: string): Promise<VersionInfo> {
    this.requireRole(claims, ['owner', 'editor'], 'viewers cannot restore versions');
    const version = await this.store.versions.getVersion(claims.roomId, versionId);
    if (!version) throw new HttpError(404, 'version_not_found', 'no such version in this room');
    await this.documents.restore(claims.roomId, version.snapshot);
    return toVersionInfo(version);
  }

  private async requireRoom(roomId: string): Promise<RoomRecord> {
    const record = await this.store.rooms.getRoom(roomId);
    if (!record) throw new HttpError(404, 'room_not_found', 'room not found');
    return record;
  }

  private requireRole(claims: TokenClaims, roles: Role[], message: string): void {
    if (!roles.includes(claims.role)) throw new HttpError(403, 'forbidden', message);
  }

  /** The room's viewer-only join code, derived from the room id (created on first use). */
  private async viewerCode(roomId: string): Promise<string> {
    const digest = crypto.createHmac('sha256', this.codeKey).update(`viewer:${roomId}`).digest();
    const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    let code = '';
    for (let i = 0; i < 10; i++) code += alphabet[digest[i]! % alphabet.length];
    const existing = await this.store.rooms.findJoinCode(code);
    if (!existing) {
      try {
        await this.store.rooms.createJoinCode({ code, roomId, role: 'viewer', createdAt: new Date().toISOString() });
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    return code;
  }

  private async respond(record: RoomRecord, member: MemberRecord, joinCode: string): Promise<RoomResponse> {
    const token = await this.tokens.sign({ roomId: record.id, memberId: member.id, displayName: member.displayName, role: member.role });
    return { room: toRoom(record, joinCode), member: toMember(member), token };
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function toRoom(record: RoomRecord, joinCode = record.joinCode): Room {
  return { id: record.id, name: record.name, kind: record.kind, joinCode, createdAt: record.createdAt, settings: record.settings };
}

function toMember(member: MemberRecord): Member {
  return { id: member.id, displayName: member.displayName, role: member.role };
}

function toVersionInfo(v: Omit<VersionRecord, 'snapshot'>): VersionInfo {
  return { id: v.id, name: v.name, createdAt: v.createdAt, createdBy: v.createdBy };
}
