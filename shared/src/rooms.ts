import { z } from 'zod';
import { AGENT_DISPLAY_NAME } from './collab';
import { visibleName } from './names';

export const ROOM_KINDS = ['writers-room', 'classroom', 'storyboard'] as const;
export const RoomKind = z.enum(ROOM_KINDS);
export type RoomKind = z.infer<typeof RoomKind>;

export const ROLES = ['owner', 'editor', 'viewer'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** Room ids and member ids are URL-safe random strings (nanoid-style alphabet). */
export const RoomId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'room id must be 8-64 characters of A-Z a-z 0-9 _ -');
/** Member ids are minted by the server (URL-safe random strings). */
export const MemberId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'member id must be 1-64 characters of A-Z a-z 0-9 _ -');
export const JoinCode = z.string().regex(/^[A-Z0-9]{6,12}$/, 'join code must be 6-12 capital letters or digits');

export const AiMode = z.enum(['off', 'limited', 'on']);
export type AiMode = z.infer<typeof AiMode>;

/** One entry of a room's own word list (letters, digits, spaces, ' and -; a phrase is matched as a whole). */
export const BlockedWord = z
  .string()
  .trim()
  .toLowerCase()
  .min(2, 'a word needs at least 2 characters')
  .max(40, 'a word has at most 40 characters')
  .regex(/^[\p{L}\p{N}][\p{L}\p{N}' -]*$/u, "a word may hold letters, digits, spaces, ' and -");
export const MAX_BLOCKED_WORDS = 200;

export const RoomSettings = z.object({
  aiMode: AiMode,
  /** Max AI requests per member when aiMode is 'limited'. */
  aiUsesPerMember: z.number().int().min(0).max(10_000),
  autoMode: z.boolean(),
  /** Seconds the authors must pause before auto mode offers a continuation. */
  autoPauseSec: z.number().int().min(2).max(600),
  /** Moderation filter on generated text (always on for classrooms). */
  moderation: z.boolean(),
  /**
   * The owner's own words, on top of the server's list: AI text with them is filtered, an
   * instruction with them refused, and in classrooms members' text with them is flagged to the owner.
   */
  blockedWords: z.array(BlockedWord).max(MAX_BLOCKED_WORDS, `at most ${MAX_BLOCKED_WORDS} words`).optional(),
  /**
   * Classrooms only: each student also gets a draft of their own (see drafts.ts) that only they and
   * the teacher can open. Absent: off.
   */
  assignmentMode: z.boolean().optional(),
});
export type RoomSettings = z.infer<typeof RoomSettings>;

export function defaultRoomSettings(kind: RoomKind): RoomSettings {
  return {
    aiMode: 'on',
    aiUsesPerMember: 20,
    autoMode: false,
    autoPauseSec: 8,
    moderation: kind === 'classroom',
    blockedWords: [],
  };
}

export const Room = z.object({
  id: RoomId,
  name: z.string(),
  kind: RoomKind,
  /** Join code granting `editor` (or `viewer` on request). */
  joinCode: JoinCode,
  createdAt: z.string(),
  settings: RoomSettings,
});
export type Room = z.infer<typeof Room>;

export const Member = z.object({
  id: z.string(),
  displayName: z.string(),
  role: Role,
});
export type Member = z.infer<typeof Member>;

// ---- REST bodies (validated by the server, reused by the client) ----

export const CreateRoomBody = z.object({
  name: visibleName('name', 120),
  kind: RoomKind,
  displayName: visibleName('displayName', 60, [AGENT_DISPLAY_NAME]).optional(),
});
export type CreateRoomBody = z.infer<typeof CreateRoomBody>;

export const JoinRoomBody = z.object({
  joinCode: z.string().trim().toUpperCase().pipe(JoinCode),
  displayName: visibleName('displayName', 60, [AGENT_DISPLAY_NAME]),
  role: z.enum(['editor', 'viewer']).optional(),
  /**
   * Tokens this browser already holds (any rooms): when one is for this code's room, names a member
   * with the same display name and the same role, the join resumes that member instead of adding a
   * second one.
   */
  resume: z.array(z.string().min(1).max(4096)).max(50).optional(),
});
export type JoinRoomBody = z.infer<typeof JoinRoomBody>;

/** Owners can mint extra join codes, e.g. one that grants only `viewer`. */
export const CreateJoinCodeBody = z.object({ role: z.enum(['editor', 'viewer']) });
export type CreateJoinCodeBody = z.infer<typeof CreateJoinCodeBody>;
/**
 * `POST /api/rooms/:id/join-codes/rotate` (owner, body CreateJoinCodeBody): a new code replaces
 * every code of that role at once; members already in the room stay.
 */
export interface RotateJoinCodeResponse {
  joinCode: string;
  role: 'editor' | 'viewer';
}

export const UpdateRoomSettingsBody = RoomSettings.partial();
export type UpdateRoomSettingsBody = z.infer<typeof UpdateRoomSettingsBody>;

/** `GET /api/rooms/:id/members` (owner): everyone in the room, in joining order. */
export interface MemberListResponse {
  members: Member[];
}
/**
 * `DELETE /api/rooms/:id/members/:memberId` (owner): the member's token is refused from then on and
 * their open connections close with CLOSE_CODES.memberRemoved. The owner cannot be removed.
 */
export interface RemoveMemberResponse {
  removed: Member;
}

export interface RoomResponse {
  room: Room;
  member: Member;
  token: string;
}
/** Claims carried by a room token (a signed JWT, HS256). */
export interface TokenClaims {
  roomId: string;
  memberId: string;
  displayName: string;
  role: Role;
}

/** Error body of every failed REST call. */
export interface ApiError {
  error: { code: string; message: string; issues?: Array<{ path: string; message: string }> };
}
