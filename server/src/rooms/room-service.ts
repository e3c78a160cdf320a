import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
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
} from '@ensemble/shared';
import type { RoomEventSource, RoomEvents, TokenService } from '../ports';
import { RoomError } from '../errors';
import type { MemberRecord, RoomRecord, RoomStore } from '../storage/store';
import { requireRole, requireRoom } from './access';
import { newId, newJoinCode } from '../ids';

const isConflict = (err: unknown) => (err as { code?: unknown })?.code === 'conflict';

/** Rooms, members and join codes: what the rooms REST routes do, without HTTP. */
export class RoomService implements RoomEventSource {
  private readonly events = new EventEmitter();

  constructor(
    private readonly rooms: RoomStore,
    private readonly tokens: TokenService,
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
        await this.rooms.createRoom(record);
      } catch (err) {
        if (isConflict(err) && attempt < 5) continue; // join code (or id) collision
        throw err;
      }
      owner.roomId = record.id;
      await this.rooms.addMember(owner);
      return this.respond(record, owner, record.joinCode);
    }
  }

  async join(body: JoinRoomBody): Promise<RoomResponse> {
    const code = await this.rooms.findJoinCode(body.joinCode);
    const record = code ? await this.rooms.getRoom(code.roomId) : null;
    if (!code || !record) throw new RoomError('not_found', 'join_code_not_found', 'no room has this join code');
    // A viewer-only code grants viewer whatever was asked for.
    const role: Role = code.role === 'viewer' ? 'viewer' : (body.role ?? 'editor');
    const joinCode = async () => (role === 'viewer' ? await this.viewerCode(record.id) : record.joinCode);
    const resumed = await this.resumable(record.id, body, role);
    if (resumed) return this.respond(record, resumed, await joinCode());
    const member: MemberRecord = { roomId: record.id, id: newId(), displayName: body.displayName, role, createdAt: new Date().toISOString() };
    await this.rooms.addMember(member);
    return this.respond(record, member, await joinCode());
  }

  /**
   * The member a rejoin by code resumes: one of the browser's own tokens (verified) for this room,
   * still a member, with the same name (case-insensitive) and role. Without this, leaving and
   * joining again as "Ben" made a second Ben.
   */
  private async resumable(roomId: string, body: JoinRoomBody, role: Role): Promise<MemberRecord | null> {
    const wanted = body.displayName.trim().toLowerCase();
    for (const token of body.resume ?? []) {
      const claims = await this.tokens.verify(token).catch(() => null);
      if (!claims || claims.roomId !== roomId) continue;
      const member = await this.rooms.getMember(roomId, claims.memberId);
      if (member && member.role === role && member.displayName.trim().toLowerCase() === wanted) return member;
    }
    return null;
  }

  async get(claims: TokenClaims): Promise<{ room: Room; member: Member }> {
    const record = await requireRoom(this.rooms, claims.roomId);
    const member = await this.rooms.getMember(record.id, claims.memberId);
    if (!member) throw new RoomError('forbidden', 'not_a_member', 'this token’s member is not in the room');
    const joinCode = member.role === 'viewer' ? await this.viewerCode(record.id) : record.joinCode;
    return { room: toRoom(record, joinCode, member.role), member: toMember(member) };
  }

  async createJoinCode(claims: TokenClaims, role: 'editor' | 'viewer'): Promise<{ joinCode: string; role: 'editor' | 'viewer' }> {
    requireRole(claims, ['owner'], 'only the owner can create join codes');
    await requireRoom(this.rooms, claims.roomId);
    // Viewers' headers show the room's one viewer code, so the owner is handed that same code.
    if (role === 'viewer') return { joinCode: await this.viewerCode(claims.roomId), role };
    for (let attempt = 0; ; attempt++) {
      const code = newJoinCode();
      try {
        await this.rooms.createJoinCode({ code, roomId: claims.roomId, role, createdAt: new Date().toISOString() });
        return { joinCode: code, role };
      } catch (err) {
        if (!isConflict(err) || attempt >= 5) throw err;
      }
    }
  }

  /**
   * Owner only. A fresh code replaces every code of that role at once (the old ones stop letting
   * anyone join); members who joined with them keep their tokens and stay.
   */
  async rotateJoinCode(claims: TokenClaims, role: 'editor' | 'viewer'): Promise<{ joinCode: string; role: 'editor' | 'viewer' }> {
    requireRole(claims, ['owner'], 'only the owner can rotate join codes');
    await requireRoom(this.rooms, claims.roomId);
    for (let attempt = 0; ; attempt++) {
      const code = newJoinCode();
      try {
        await this.rooms.replaceJoinCodes({ code, roomId: claims.roomId, role, createdAt: new Date().toISOString() });
        return { joinCode: code, role };
      } catch (err) {
        if (!isConflict(err) || attempt >= 5) throw err;
      }
    }
  }

  async listMembers(claims: TokenClaims): Promise<Member[]> {
    requireRole(claims, ['owner'], 'only the owner can list members');
    await requireRoom(this.rooms, claims.roomId);
    return (await this.rooms.listMembers(claims.roomId)).map(toMember);
  }

  /**
   * Owner only. Deleting the row is what revokes the member: every auth path looks it up, so their
   * token is refused from then on; `memberRemoved` lets the sync server and the /collab channel
   * close the sockets they already have open.
   */
  async removeMember(claims: TokenClaims, memberId: string): Promise<Member> {
    requireRole(claims, ['owner'], 'only the owner can remove members');
    await requireRoom(this.rooms, claims.roomId);
    const member = await this.rooms.getMember(claims.roomId, memberId);
    if (!member) throw new RoomError('not_found', 'member_not_found', 'no such member in this room');
    if (member.role === 'owner') throw new RoomError('conflict', 'owner_not_removable', 'the owner cannot be removed');
    if (!(await this.rooms.removeMember(claims.roomId, memberId))) throw new RoomError('not_found', 'member_not_found', 'no such member in this room');
    this.events.emit('memberRemoved', claims.roomId, memberId);
    return toMember(member);
  }

  async updateSettings(claims: TokenClaims, patch: UpdateRoomSettingsBody): Promise<RoomSettings> {
    requireRole(claims, ['owner'], 'only the owner can change settings');
    const record = await requireRoom(this.rooms, claims.roomId);
    if (patch.assignmentMode && record.kind !== 'classroom') throw new RoomError('conflict', 'not_classroom', 'assignment mode is for classroom rooms');
    const settings: RoomSettings = { ...record.settings, ...stripUndefined(patch) };
    if (record.kind === 'classroom') settings.moderation = true; // always on for classrooms
    await this.rooms.updateRoomSettings(record.id, settings);
    this.events.emit('settingsChanged', record.id, settings);
    return settings;
  }

  /**
   * The room's viewer-only join code: the newest viewer code it has (a rotated one), else one
   * derived from the room id (created on first use).
   */
  private async viewerCode(roomId: string): Promise<string> {
    const viewerCodes = (await this.rooms.listJoinCodes(roomId)).filter((c) => c.role === 'viewer');
    if (viewerCodes.length > 0) return viewerCodes[viewerCodes.length - 1]!.code;
    const digest = crypto.createHmac('sha256', this.codeKey).update(`viewer:${roomId}`).digest();
    const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    let code = '';
    for (let i = 0; i < 10; i++) code += alphabet[digest[i]! % alphabet.length];
    const existing = await this.rooms.findJoinCode(code);
    if (!existing) {
      try {
        await this.rooms.createJoinCode({ code, roomId, role: 'viewer', createdAt: new Date().toISOString() });
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    return code;
  }

  private async respond(record: RoomRecord, member: MemberRecord, joinCode: string): Promise<RoomResponse> {
    const token = await this.tokens.sign({ roomId: record.id, memberId: member.id, displayName: member.displayName, role: member.role });
    return { room: toRoom(record, joinCode, member.role), member: toMember(member), token };
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The room as `role` may see it: the teacher's word list is the owner's alone (students would read what is flagged). */
export function toRoom(record: RoomRecord, joinCode: string, role: Role): Room {
  const { blockedWords, ...shared } = record.settings;
  const settings = role === 'owner' ? record.settings : shared;
  return { id: record.id, name: record.name, kind: record.kind, joinCode, createdAt: record.createdAt, settings };
}

function toMember(member: MemberRecord): Member {
  return { id: member.id, displayName: member.displayName, role: member.role };
}

