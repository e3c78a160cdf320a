import { ObjectId, type Db } from 'mongodb';
import type { VersionRecord, VersionStore } from '../store';
import { StoreError } from '../store-error';
import { compositeId, isDuplicateKey, type MongoConnection } from './connection';
import type { BlobRef } from './mongo-blobs';

/** Metadata only (the server ignores no projections on jongodb): the snapshot lives in a blob. */
interface VersionDocument extends Omit<VersionRecord, 'snapshot' | 'kind'> {
  /** Absent on versions stored before kinds existed (read as 'manual'). */
  kind?: VersionRecord['kind'];
  _id: string; // roomId/versionId
  /** Insertion order, to order versions saved in the same millisecond. */
  order: ObjectId;
  blob: BlobRef;
}

const versions = (db: Db) => db.collection<VersionDocument>('versions');

/** Named versions in MongoDB. */
export class MongoVersionStore implements VersionStore {
  constructor(private readonly connection: MongoConnection) {}

  saveVersion(version: VersionRecord): Promise<void> {
    return this.connection.run('saveVersion', version.roomId, async ({ db, blobs }) => {
      const _id = compositeId(version.roomId, version.id);
      const conflict = () => new StoreError('saveVersion', version.roomId, 'conflict', `version ${version.id} already exists`);
      if (await versions(db).findOne({ _id })) throw conflict();
      const blob = await blobs.write(version.snapshot);
      try {
        const { roomId, id, name, kind, createdAt, createdBy } = version;
        await versions(db).insertOne({ _id, roomId, id, name, kind, createdAt, createdBy, order: new ObjectId(), blob });
      } catch (error) {
        await blobs.delete([blob]);
        if (isDuplicateKey(error)) throw conflict();
        throw error;
      }
    });
  }

  listVersions(roomId: string): Promise<Omit<VersionRecord, 'snapshot'>[]> {
    return this.connection.run('listVersions', roomId, async ({ db }) => {
      const docs = await versions(db).find({ roomId }).sort({ createdAt: -1, order: -1 }).toArray();
      return docs.map(versionMeta);
    });
  }

  getVersion(roomId: string, versionId: string): Promise<VersionRecord | null> {
    return this.connection.run('getVersion', roomId, async ({ db, blobs }) => {
      const doc = await versions(db).findOne({ _id: compositeId(roomId, versionId) });
      return doc ? { ...versionMeta(doc), snapshot: await blobs.read(doc.blob) } : null;
    });
  }

  renameVersion(roomId: string, versionId: string, name: string): Promise<boolean> {
    return this.connection.run('renameVersion', roomId, async ({ db }) => {
      const result = await versions(db).updateOne({ _id: compositeId(roomId, versionId) }, { $set: { name } });
      return result.matchedCount > 0;
    });
  }

  deleteVersion(roomId: string, versionId: string): Promise<boolean> {
    return this.connection.run('deleteVersion', roomId, async ({ db, blobs }) => {
      const _id = compositeId(roomId, versionId);
      const doc = await versions(db).findOne({ _id });
      if (!doc) return false;
      // The reference first: a crash in between leaves unreferenced parts (space), never a dangling version.
      const result = await versions(db).deleteOne({ _id });
      await blobs.delete([doc.blob]);
      return result.deletedCount > 0;
    });
  }
}

function versionMeta(doc: VersionDocument): Omit<VersionRecord, 'snapshot'> {
  return { roomId: doc.roomId, id: doc.id, name: doc.name, kind: doc.kind === 'auto' ? 'auto' : 'manual', createdAt: doc.createdAt, createdBy: doc.createdBy };
}
