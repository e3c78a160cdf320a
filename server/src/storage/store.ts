import type { Role, RoomKind, RoomSettings, VersionKind } from '@ensemble/shared';

/**
 * Everything Ensemble keeps durably, as four narrow slices bundled as `Stores`. Backends:
 * SQLite (embedded default, storage/sqlite/), MongoDB (storage/mongo/) and an in-memory one for
 * unit tests (storage/memory/). All pass the same conformance suite
 * (test/storage/store.conformance.ts). Binary values are Uint8Array; times are ISO-8601 strings.
 * Every failure is a StoreError (storage/store-error.ts), whatever the backend.
 *
 * Consumers take only the slice they use: the sync layer a DocumentLog, auth and rooms a
 * RoomStore, the AI side an AiRecordStore.
 */
export interface Stores {
  readonly kind: 'sqlite' | 'mongodb' | 'memory';
  readonly documents: DocumentLog;
  readonly rooms: RoomStore;
  readonly versions: VersionStore;
  readonly records: AiRecordStore;
  /** Opens the backend (idempotent). Nothing works before it resolves. */
  init(): Promise<void>;
  /** Afterwards every operation fails with StoreError code 'closed'. */
  close(): Promise<void>;
}

/** Each room's Yjs document: an append-only update log plus a snapshot. */
export interface DocumentLog {
  /** Appends updates to the room's log in order, atomically as one batch; returns the last seq. */
  appendUpdates(roomId: string, updates: Uint8Array[]): Promise<number>;
  /** Snapshot (if any) plus every logged update with seq > snapshot.throughSeq, in seq order. */
  loadDocument(roomId: string): Promise<StoredDocument>;
  /**
   * Stores a snapshot covering the log up to and including `throughSeq`, then drops those log
   * entries. Crash-safe in either order: loadDocument ignores entries at or below the snapshot's seq.
   * A snapshot older than the stored one is ignored.
   */
  writeSnapshot(roomId: string, snapshot: Uint8Array, throughSeq: number): Promise<void>;
}

/** Rooms, their join codes and their members. */
export interface RoomStore {
  /**
   * Also registers `room.joinCode` as an 'editor' join code, atomically with the room. Throws
   * StoreError (code 'conflict') when the room id or the join code is taken.
   */
  createRoom(room: RoomRecord): Promise<void>;
  getRoom(roomId: string): Promise<RoomRecord | null>;
  /** Throws StoreError ('not_found') for an unknown room. */
  updateRoomSettings(roomId: string, settings: RoomSettings): Promise<void>;
  /**
   * Join codes are unique across rooms: a code already in use throws StoreError ('conflict'),
   * except re-registering the identical (code, roomId, role), which is a no-op.
   */
  createJoinCode(code: JoinCodeRecord): Promise<void>;
  findJoinCode(code: string): Promise<JoinCodeRecord | null>;
  /** The room's join codes, oldest first (createdAt, then code). */
  listJoinCodes(roomId: string): Promise<JoinCodeRecord[]>;
  /**
   * Rotation: registers `next` and deletes every other code of `next.roomId` with `next.role`; for
   * 'editor' the room's default code becomes `next.code`. A code in use throws StoreError
   * ('conflict') and changes nothing; an unknown room throws 'not_found'.
   */
  replaceJoinCodes(next: JoinCodeRecord): Promise<void>;
  /** Insert or replace by (roomId, id). */
  addMember(member: MemberRecord): Promise<void>;
  getMember(roomId: string, memberId: string): Promise<MemberRecord | null>;
  /** In joining order (createdAt, then id). */
  listMembers(roomId: string): Promise<MemberRecord[]>;
  /** Deletes the member's row; false when there was none. Their feedback and proposals stay (history). */
  removeMember(roomId: string, memberId: string): Promise<boolean>;
}

/** Named versions (saved snapshots of a room's document). */
export interface VersionStore {
  /** Throws StoreError ('conflict') when (roomId, id) exists. */
  saveVersion(version: VersionRecord): Promise<void>;
  /** Newest first, without snapshots. */
  listVersions(roomId: string): Promise<Omit<VersionRecord, 'snapshot'>[]>;
  getVersion(roomId: string, versionId: string): Promise<VersionRecord | null>;
  /** Sets the version's name; false when the room has no such version. */
  renameVersion(roomId: string, versionId: string, name: string): Promise<boolean>;
  /** Deletes the version and its snapshot; false when the room has no such version. */
  deleteVersion(roomId: string, versionId: string): Promise<boolean>;
}

/** What the AI collaborator leaves behind: proposals, the members' feedback on them, images. */
export interface AiRecordStore {
  /** Insert or replace by (roomId, id). */
  saveProposal(proposal: ProposalRecord): Promise<void>;
  /** Newest first, at most `limit`. */
  listProposals(roomId: string, limit: number): Promise<ProposalRecord[]>;
  addFeedback(feedback: FeedbackRecord): Promise<void>;
  /** Oldest first; all members when memberId is omitted. */
  listFeedback(roomId: string, memberId?: string): Promise<FeedbackRecord[]>;
  /** Insert or replace by (roomId, id). */
  putImage(image: ImageRecord): Promise<void>;
  getImage(roomId: string, imageId: string): Promise<ImageRecord | null>;
}

export interface RoomRecord {
  id: string;
  name: string;
  kind: RoomKind;
  /** The room's default join code (grants editor, or viewer on request). */
  joinCode: string;
  ownerId: string;
  createdAt: string;
  settings: RoomSettings;
}

export interface JoinCodeRecord {
  code: string;
  roomId: string;
  /** Highest role the code grants. */
  role: 'editor' | 'viewer';
  createdAt: string;
}

export interface MemberRecord {
  roomId: string;
  id: string;
  displayName: string;
  role: Role;
  createdAt: string;
}

export interface StoredDocument {
  snapshot: Uint8Array | null;
  /** Seq the snapshot covers (0 when there is none). */
  snapshotSeq: number;
  updates: Array<{ seq: number; data: Uint8Array }>;
}

export interface VersionRecord {
  roomId: string;
  id: string;
  name: string;
  /** Saved by a member, or taken by the server (schedule, before a restore). Stored before kinds existed: 'manual'. */
  kind: VersionKind;
  createdAt: string;
  createdBy: string;
  /** Y.encodeStateAsUpdate of the document when saved. */
  snapshot: Uint8Array;
}

export interface ProposalRecord {
  roomId: string;
  id: string;
  kind: 'text' | 'image';
  requestedBy: string;
  mode: string;
  instruction?: string;
  panelId?: string;
  model: string;
  createdAt: string;
  status: string;
  /** Final text of each alternative (text) or image id (image). */
  alternatives: string[];
  acceptedAlternative?: number;
  acceptedBy?: string;
  /** Text accepts: the Yjs ids the agent's insert created (clocks [clock, clock+length) of client), for a later revert. */
  inserted?: { client: number; clock: number; length: number };
  /** Rewrite accepts: the passage the AI text replaced (text, formatting, author), put back on revert. */
  replaced?: Array<{ text: string; attributes?: Record<string, unknown>; memberId: string; displayName: string; kind: 'human' | 'agent' | 'unknown' }>;
  /** Member who reverted the accepted text, and when. */
  revertedBy?: string;
  revertedAt?: string;
}

export type FeedbackAction = 'vote-up' | 'vote-down' | 'accept' | 'reject' | 'dismiss' | 'shown';
export interface FeedbackRecord {
  roomId: string;
  memberId: string;
  proposalId: string;
  alternative: number;
  action: FeedbackAction;
  /** The alternative's text (or the suggestion's text), so preferences can be learned from it. */
  text: string;
  at: string;
}

export interface ImageRecord {
  roomId: string;
  id: string;
  mime: string;
  data: Uint8Array;
  createdAt: string;
  proposalId?: string;
}
