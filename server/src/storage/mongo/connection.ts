import { MongoClient, MongoServerError, type Db, type MongoClientOptions } from 'mongodb';
import { BackendHandle, StoreError } from '../store-error';
import { DEFAULT_CHUNK_BYTES, MongoBlobs, type BlobPartDocument } from './mongo-blobs';

export interface MongoStorageOptions {
  uri: string;
  dbName: string;
  /** Largest binary kept inside one document; bigger ones are split into parts (default 8 MB). */
  chunkBytes?: number;
  /** Extra driver options (e.g. timeouts); they override the defaults below. */
  clientOptions?: MongoClientOptions;
}

/** What every MongoDB slice works with once the store is open. */
export interface MongoHandle {
  db: Db;
  blobs: MongoBlobs;
}

const COLLECTIONS = ['rooms', 'joinCodes', 'members', 'logHeads', 'log', 'snapshots', 'versions', 'proposals', 'feedback', 'images', 'blobs'] as const;

/**
 * The MongoDB database every slice shares, and the one place where driver failures become
 * StoreErrors (`run`, from BackendHandle).
 *
 * The slices stick to operations that both real MongoDB and the jongodb test server support:
 * insertOne/insertMany, find with filter+sort+limit, findOne, replaceOne/updateOne with upsert,
 * findOneAndUpdate with $inc, deleteMany. No transactions, projections, $push/$pull or change
 * streams. Composite keys live in _id (`compositeId`), so uniqueness never depends on secondary
 * indexes.
 *
 * Writes use w:'majority' with journaling, so a resolved write survives a crash of the database
 * (and of this process).
 */
export class MongoConnection extends BackendHandle<MongoHandle> {
  readonly dbName: string;
  readonly chunkBytes: number;
  /** False when the server refused createIndex (queries still work, only slower). */
  indexesCreated = false;
  readonly client: MongoClient;

  constructor(options: MongoStorageOptions) {
    super('MongoDB');
    this.dbName = options.dbName;
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.client = new MongoClient(options.uri, {
      // Optional record fields stay absent instead of turning into nulls.
      ignoreUndefined: true,
      writeConcern: { w: 'majority', journal: true },
      serverSelectionTimeoutMS: 10_000,
      ...options.clientOptions,
    });
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    try {
      await this.client.connect();
      const db = this.client.db(this.dbName);
      const blobs = new MongoBlobs(db.collection<BlobPartDocument>('blobs'), this.chunkBytes);
      this.indexesCreated = await createIndexes(db);
      this.set({ db, blobs });
    } catch (error) {
      throw StoreError.wrap('init', null, error);
    }
  }

  async close(): Promise<void> {
    this.set(null);
    await this.client.close();
  }

  /**
   * Deletes everything the store wrote (tests and tools only). Uses dropDatabase where the server
   * has it (jongodb does not), else empties each collection.
   */
  dropDatabase(): Promise<void> {
    return this.run('dropDatabase', null, async ({ db }) => {
      try {
        await db.dropDatabase();
      } catch {
        for (const name of COLLECTIONS) await db.collection(name).deleteMany({});
      }
    });
  }
}

/** Room ids never contain '/', so `roomId/rest` is unambiguous. */
export function compositeId(roomId: string, rest: string): string {
  return `${roomId}/${rest}`;
}

export function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === 11000;
}

/** Secondary indexes speed up the per-room queries; uniqueness itself rests on _id. */
async function createIndexes(db: Db): Promise<boolean> {
  try {
    await db.collection('members').createIndex({ roomId: 1, createdAt: 1 });
    await db.collection('log').createIndex({ roomId: 1, fromSeq: 1 }, { unique: true });
    await db.collection('log').createIndex({ roomId: 1, toSeq: 1 });
    await db.collection('versions').createIndex({ roomId: 1, createdAt: -1 });
    await db.collection('proposals').createIndex({ roomId: 1, createdAt: -1 });
    await db.collection('feedback').createIndex({ roomId: 1, memberId: 1, at: 1 });
    await db.collection('blobs').createIndex({ blobId: 1 });
    return true;
  } catch (error) {
    // Servers without createIndex (some test servers) still work; only unsupported-command errors are tolerated.
    if (error instanceof MongoServerError && (error.code === 59 || error.code === 115)) return false;
    throw error;
  }
}
