import * as Y from 'yjs';
import type { TokenClaims, VersionInfo } from '@ensemble/shared';
import type { RoomDocuments } from '../ports';
import { RoomError } from '../errors';
import { requireRole, requireRoom } from '../rooms/access';
import { newId } from '../ids';
import type { RoomStore, VersionRecord, VersionStore } from '../storage/store';

/** Named versions of a room's document: save the current state, list them, restore one. */
export class VersionService {
  constructor(
    private readonly rooms: Pick<RoomStore, 'getRoom'>,
    private readonly versions: VersionStore,
    private readonly documents: Pick<RoomDocuments, 'acquire' | 'release' | 'restore'>,
  ) {}

  async save(claims: TokenClaims, name: string): Promise<VersionInfo> {
    requireRole(claims, ['owner', 'editor'], 'viewers cannot save versions');
    await requireRoom(this.rooms, claims.roomId);
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
    await this.versions.saveVersion(version);
    return toVersionInfo(version);
  }

  async list(claims: TokenClaims): Promise<VersionInfo[]> {
    await requireRoom(this.rooms, claims.roomId);
    return (await this.versions.listVersions(claims.roomId)).map(toVersionInfo);
  }

  async restore(claims: TokenClaims, versionId: string): Promise<VersionInfo> {
    requireRole(claims, ['owner', 'editor'], 'viewers cannot restore versions');
    const version = await this.versions.getVersion(claims.roomId, versionId);
    if (!version) throw new RoomError('not_found', 'version_not_found', 'no such version in this room');
    await this.documents.restore(claims.roomId, version.snapshot);
    return toVersionInfo(version);
  }
}

function toVersionInfo(v: Omit<VersionRecord, 'snapshot'>): VersionInfo {
  return { id: v.id, name: v.name, createdAt: v.createdAt, createdBy: v.createdBy };
}
