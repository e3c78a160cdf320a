import * as Y from 'yjs';
import { AUTO_VERSION_NAMES, storyParagraphs, type TokenClaims, type VersionInfo, type VersionKind, type VersionPreviewResponse } from '@ensemble/shared';
import type { RoomDocuments } from '../ports';
import { RoomError } from '../errors';
import { requireRole, requireRoom } from '../rooms/access';
import { newId } from '../ids';
import type { RoomStore, VersionRecord, VersionStore } from '../storage/store';
import type { DocumentChanges } from './document-changes';
import { diffParagraphs } from './text-diff';

const EDITORS = ['owner', 'editor'] as const;

/**
 * Versions of a room's document: save the current state (by a member or automatically), list,
 * preview against the current story, rename, delete, restore.
 */
export class VersionService {
  constructor(
    private readonly rooms: Pick<RoomStore, 'getRoom'>,
    private readonly versions: VersionStore,
    private readonly documents: Pick<RoomDocuments, 'acquire' | 'release' | 'restore'>,
    /** Told about every version taken, so the snapshot schedule skips rooms unchanged since. */
    private readonly changes?: Pick<DocumentChanges, 'stamp' | 'snapshotSaved'>,
  ) {}

  async save(claims: TokenClaims, name: string): Promise<VersionInfo> {
    requireRole(claims, [...EDITORS], 'viewers cannot save versions');
    await requireRoom(this.rooms, claims.roomId);
    return this.snapshot(claims.roomId, { name, kind: 'manual', createdBy: claims.memberId });
  }

  /** Saves the room's current document as a version (no access check: callers did it, or are the server). */
  async snapshot(roomId: string, meta: { name: string; kind: VersionKind; createdBy: string }): Promise<VersionInfo> {
    const room = await this.documents.acquire(roomId);
    let snapshot: Uint8Array;
    let changeStamp: number | undefined;
    try {
      snapshot = Y.encodeStateAsUpdate(room.doc);
      // Synchronously with the encoding, so the stamp names exactly the state saved.
      changeStamp = this.changes?.stamp(roomId);
    } finally {
      this.documents.release(roomId);
    }
    const version: VersionRecord = { roomId, id: newId(), ...meta, createdAt: new Date().toISOString(), snapshot };
    await this.versions.saveVersion(version);
    this.changes?.snapshotSaved(roomId, changeStamp);
    return toVersionInfo(version);
  }

  async list(claims: TokenClaims): Promise<VersionInfo[]> {
    await requireRoom(this.rooms, claims.roomId);
    return (await this.versions.listVersions(claims.roomId)).map(toVersionInfo);
  }

  /** The version's story, and the word diff from the current story to it (what a restore would change). */
  async preview(claims: TokenClaims, versionId: string): Promise<VersionPreviewResponse> {
    const version = await this.requireVersion(claims.roomId, versionId);
    const saved = new Y.Doc();
    let paragraphs: string[];
    try {
      Y.applyUpdate(saved, version.snapshot);
      paragraphs = storyParagraphs(saved);
    } finally {
      saved.destroy();
    }
    const room = await this.documents.acquire(claims.roomId);
    let current: string[];
    try {
      current = storyParagraphs(room.doc);
    } finally {
      this.documents.release(claims.roomId);
    }
    const diff = diffParagraphs(current, paragraphs);
    return { version: toVersionInfo(version), paragraphs, diff, changed: diff.some((part) => part.op !== 'equal') };
  }

  async rename(claims: TokenClaims, versionId: string, name: string): Promise<VersionInfo> {
    requireRole(claims, [...EDITORS], 'viewers cannot rename versions');
    if (!(await this.versions.renameVersion(claims.roomId, versionId, name))) throw versionNotFound();
    return this.requireMeta(claims.roomId, versionId);
  }

  async remove(claims: TokenClaims, versionId: string): Promise<VersionInfo> {
    requireRole(claims, [...EDITORS], 'viewers cannot delete versions');
    const version = await this.requireMeta(claims.roomId, versionId);
    if (!(await this.versions.deleteVersion(claims.roomId, versionId))) throw versionNotFound();
    return version;
  }

  /**
   * Restores the version as a new state every client receives, after saving the current state as
   * an automatic version (so a restore can itself be undone by restoring that one). The saving
   * comes first and is awaited: if it fails, nothing is restored.
   */
  async restore(claims: TokenClaims, versionId: string): Promise<VersionInfo> {
    requireRole(claims, [...EDITORS], 'viewers cannot restore versions');
    const version = await this.requireVersion(claims.roomId, versionId);
    await this.snapshot(claims.roomId, { name: AUTO_VERSION_NAMES.beforeRestore(version.name), kind: 'auto', createdBy: claims.memberId });
    await this.documents.restore(claims.roomId, version.snapshot);
    return toVersionInfo(version);
  }

  private async requireVersion(roomId: string, versionId: string): Promise<VersionRecord> {
    const version = await this.versions.getVersion(roomId, versionId);
    if (!version) throw versionNotFound();
    return version;
  }

  /** The version's metadata without reading its snapshot. */
  private async requireMeta(roomId: string, versionId: string): Promise<VersionInfo> {
    const version = (await this.versions.listVersions(roomId)).find((v) => v.id === versionId);
    if (!version) throw versionNotFound();
    return toVersionInfo(version);
  }
}

function versionNotFound(): RoomError {
  return new RoomError('not_found', 'version_not_found', 'no such version in this room');
}

function toVersionInfo(v: Omit<VersionRecord, 'snapshot'>): VersionInfo {
  return { id: v.id, name: v.name, kind: v.kind, createdAt: v.createdAt, createdBy: v.createdBy };
}
