import type { VersionRecord, VersionStore } from '../store';
import { StoreError } from '../store-error';
import { copyBytes, type MemoryConnection } from './data';
import { compare } from './room-store';

/** Named versions in memory, kept per room in saving order. */
export class MemoryVersionStore implements VersionStore {
  constructor(private readonly connection: MemoryConnection) {}

  saveVersion(version: VersionRecord): Promise<void> {
    return this.connection.run('saveVersion', version.roomId, (data) => {
      const saved = data.versions.get(version.roomId) ?? [];
      if (saved.some((v) => v.id === version.id)) throw new StoreError('saveVersion', version.roomId, 'conflict', `version ${version.id} already exists`);
      saved.push({ ...version, snapshot: copyBytes(version.snapshot) });
      data.versions.set(version.roomId, saved);
    });
  }

  /** Newest first; versions saved in the same instant come out latest-saved first. */
  listVersions(roomId: string): Promise<Omit<VersionRecord, 'snapshot'>[]> {
    return this.connection.run('listVersions', roomId, (data) =>
      (data.versions.get(roomId) ?? [])
        .map((version, order) => ({ version, order }))
        .sort((a, b) => compare(b.version.createdAt, a.version.createdAt) || b.order - a.order)
        .map(({ version: { snapshot: _snapshot, ...meta } }) => meta),
    );
  }

  getVersion(roomId: string, versionId: string): Promise<VersionRecord | null> {
    return this.connection.run('getVersion', roomId, (data) => {
      const version = data.versions.get(roomId)?.find((v) => v.id === versionId);
      return version ? { ...version, snapshot: copyBytes(version.snapshot) } : null;
    });
  }

  renameVersion(roomId: string, versionId: string, name: string): Promise<boolean> {
    return this.connection.run('renameVersion', roomId, (data) => {
      const version = data.versions.get(roomId)?.find((v) => v.id === versionId);
      if (version) version.name = name;
      return version !== undefined;
    });
  }

  deleteVersion(roomId: string, versionId: string): Promise<boolean> {
    return this.connection.run('deleteVersion', roomId, (data) => {
      const saved = data.versions.get(roomId) ?? [];
      const index = saved.findIndex((v) => v.id === versionId);
      if (index >= 0) saved.splice(index, 1);
      return index >= 0;
    });
  }
}
