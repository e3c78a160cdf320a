import { MongoClient, MongoServerError, ObjectId, type Binary, type Collection, type Db, type MongoClientOptions } from 'mongodb';
import type { RoomSettings } from '@ensemble/shared';
import type {
  FeedbackRecord,
  ImageRecord,
  JoinCodeRecord,
  MemberRecord,
  ProposalRecord,
  RoomRecord,
  Store,
  StoredDocument,
  VersionRecord,
} from './store';
import { StoreError } from './store-error';
import { DEFAULT_CHUNK_BYTES, MissingBlobError, MongoBlobs, fromBinary, toBinary, type BlobPartDocument, type BlobRef } from './mongo-blobs';

export interface MongoStoreOptions {
  uri: string;
  dbName: string;
  /** Largest binary kept inside one document; bigger ones are split into parts (default 8 MB). */
  chunkBytes?: number;
  /** Extra driver options (e.g. timeouts); they override the defaults below. */
  clientOptions?: MongoClientOptions;
}

// ---- document shapes. Composite keys live in _id, so uniqueness never depends on secondary indexes. ----

interface RoomDocument {
  _id: string;
  name: string;
  kind: RoomRecord['kind'];
  joinCode: string;
  ownerId: string;
  createdAt: string;
  settings: RoomSettings;
}
interface JoinCodeDocument {
  _id: string; // the code
  roomId: string;
  role: JoinCodeRecord['role'];
  createdAt: string;
}
interface MemberDocument {
  _id: string; // roomId/memberId
  roomId: string;
  id: string;
  displayName: string;
  role: MemberRecord['role'];
  createdAt: string;
}
/** Highest seq ever allocated for a room (survives compaction, so seqs never repeat). */
interface LogHeadDocument {
  _id: string; // roomId
  seq: number;
}
/**
 * One appendUpdates batch: updates fromSeq..toSeq. Small batches keep the updates inline; a batch
 * above chunkBytes is stored as one concatenated blob plus the length of each update.
 */
interface LogBatchDocument {
  _id: string; // roomId/fromSeq
  roomId: string;
  fromSeq: number;
  toSeq: number;
  updates?: Binary[];
  chunked?: true;
  blob?: BlobRef;
  lengths?: number[];
}
/** Points at the room's snapshot blob; tiny, so readers can re-check it cheaply. */
interface SnapshotDocument {
  _id: string; // roomId
  throughSeq: number;
  blob: BlobRef;
}
/** Metadata only (the server ignores no projections on jongodb): the snapshot lives in a blob. */
interface VersionDocument {
  _id: string; // roomId/versionId
  roomId: string;
  id: string;
  name: string;
  createdAt: string;
  createdBy: string;
  /** Insertion order, to order versions saved in the same millisecond. */
  order: ObjectId;
  blob: BlobRef;
}
interface ProposalDocument extends ProposalRecord {
  _id: string; // roomId/proposalId
}
interface FeedbackDocument extends FeedbackRecord {
  _id: ObjectId; // insertion order breaks ties between equal `at`
}
interface ImageDocument {
  _id: string; // roomId/imageId
  roomId: string;
  id: string;
  mime: string;
  createdAt: string;
  proposalId?: string;
  data?: Binary;
  blob?: BlobRef;
}

const COLLECTIONS = ['rooms', 'joinCodes', 'members', 'logHeads', 'log', 'snapshots', 'versions', 'proposals', 'feedback', 'images', 'blobs'] as const;

/** How often loadDocument starts over when a concurrent compaction changed the snapshot under it. */
const LOAD_ATTEMPTS = 5;

/**
 * The store for MongoDB. It sticks to operations that both real MongoDB and the jongodb test server
 * support: insertOne/insertMany, find with filter+sort+limit, findOne, replaceOne/updateOne with
 * upsert, findOneAndUpdate with $inc, deleteMany. No transactions, projections, $push/$pull or
 * change streams.
 *
 * Seqs come from a per-room counter document incremented atomically ($inc), so any number of
 * server processes may append to the same room. A batch allocates its whole range with one $inc
 * and is written as ONE log document, which keeps collections small. A failed write leaves a gap in
 * the seqs, never a duplicate.
 *
 * Writes use w:'majority' with journaling, so a resolved append survives a crash of the database
 * (and of this process).
 */
export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  readonly dbName: string;
  readonly chunkBytes: number;
  /** False when the server refused createIndex (queries still work, only slower). */
  indexesCreated = false;
  private readonly client: MongoClient;
  private db: Db | null = null;
  private blobs: MongoBlobs | null = null;

  constructor(options: MongoStoreOptions) {
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

  async init(): Promise<void> {
    if (this.db) return;
    try {
      await this.client.connect();
      const db = this.client.db(this.dbName);
      this.blobs = new MongoBlobs(db.collection<BlobPartDocument>('blobs'), this.chunkBytes);
      this.indexesCreated = await this.createIndexes(db);
      this.db = db;
    } catch (error) {
      throw StoreError.wrap('init', null, error);
    }
  }

  async close(): Promise<void> {
    this.db = null;
    this.blobs = null;
    await this.client.close();
  }

  /**
   * Deletes everything this store wrote (tests and tools only). Uses dropDatabase where the server
   * has it (jongodb does not), else empties each collection.
   */
  async dropDatabase(): Promise<void> {
    const db = this.open('dropDatabase', null);
    try {
      await db.dropDatabase();
    } catch {
      for (const name of COLLECTIONS) await db.collection(name).deleteMany({});
    }
  }

  // ---- rooms, members, join codes ----

  async createRoom(room: RoomRecord): Promise<void> {
    const db = this.open('createRoom', room.id);
    try {
      const codeIsNew = await this.insertJoinCode('createRoom', { code: room.joinCode, roomId: room.id, role: 'editor', createdAt: room.createdAt });
      try {
        await this.rooms(db).insertOne({
          _id: room.id,
          name: room.name,
          kind: room.kind,
          joinCode: room.joinCode,
          ownerId: room.ownerId,
          createdAt: room.createdAt,
          settings: room.settings,
        });
      } catch (error) {
        // Undo the join code so a failed creation does not hold it (no transactions to roll back).
        if (codeIsNew) await this.joinCodes(db).deleteMany({ _id: room.joinCode, roomId: room.id });
        if (isDuplicateKey(error)) throw new StoreError('createRoom', room.id, 'conflict', `room ${room.id} already exists`);
        throw error;
      }
    } catch (error) {
      throw StoreError.wrap('createRoom', room.id, error);
    }
  }

  async getRoom(roomId: string): Promise<RoomRecord | null> {
    const db = this.open('getRoom', roomId);
    const doc = await this.run('getRoom', roomId, () => this.rooms(db).findOne({ _id: roomId }));
    return doc ? roomFromDocument(doc) : null;
  }

  async getRooms(roomIds: string[]): Promise<RoomRecord[]> {
    const db = this.open('getRooms', null);
    if (roomIds.length === 0) return [];
    const docs = await this.run('getRooms', null, () => this.rooms(db).find({ _id: { $in: [...new Set(roomIds)] } }).toArray());
    return docs.map(roomFromDocument);
  }

  async updateRoomSettings(roomId: string, settings: RoomSettings): Promise<void> {
    const db = this.open('updateRoomSettings', roomId);
    const result = await this.run('updateRoomSettings', roomId, () => this.rooms(db).updateOne({ _id: roomId }, { $set: { settings } }));
    if (result.matchedCount === 0) throw new StoreError('updateRoomSettings', roomId, 'not_found', `room ${roomId} does not exist`);
  }

  async createJoinCode(code: JoinCodeRecord): Promise<void> {
    this.open('createJoinCode', code.roomId);
    await this.run('createJoinCode', code.roomId, () => this.insertJoinCode('createJoinCode', code));
  }

  async findJoinCode(code: string): Promise<JoinCodeRecord | null> {
    const db = this.open('findJoinCode', null);
    const doc = await this.run('findJoinCode', null, () => this.joinCodes(db).findOne({ _id: code }));
    return doc ? { code: doc._id, roomId: doc.roomId, role: doc.role, createdAt: doc.createdAt } : null;
  }

  async addMember(member: MemberRecord): Promise<void> {
    const db = this.open('addMember', member.roomId);
    const _id = compositeId(member.roomId, member.id);
    const doc: MemberDocument = { _id, roomId: member.roomId, id: member.id, displayName: member.displayName, role: member.role, createdAt: member.createdAt };
    await this.run('addMember', member.roomId, () => this.members(db).replaceOne({ _id }, doc, { upsert: true }));
  }

  async getMember(roomId: string, memberId: string): Promise<MemberRecord | null> {
    const db = this.open('getMember', roomId);
    const doc = await this.run('getMember', roomId, () => this.members(db).findOne({ _id: compositeId(roomId, memberId) }));
    return doc ? memberFromDocument(doc) : null;
  }

  async listMembers(roomId: string): Promise<MemberRecord[]> {
    const db = this.open('listMembers', roomId);
    const docs = await this.run('listMembers', roomId, () => this.members(db).find({ roomId }).sort({ createdAt: 1, id: 1 }).toArray());
    return docs.map(memberFromDocument);
  }

  async removeMember(roomId: string, memberId: string): Promise<boolean> {
    const db = this.open('removeMember', roomId);
    const result = await this.run('removeMember', roomId, () => this.members(db).deleteOne({ _id: compositeId(roomId, memberId) }));
    return result.deletedCount > 0;
  }

  // ---- document ----

  async appendUpdates(roomId: string, updates: Uint8Array[]): Promise<number> {
    const db = this.open('appendUpdates', roomId);
    return this.run('appendUpdates', roomId, async () => {
      if (updates.length === 0) return (await this.logHeads(db).findOne({ _id: roomId }))?.seq ?? 0;
      const toSeq = await this.allocateSeqs(db, roomId, updates.length);
      const fromSeq = toSeq - updates.length + 1;
      const batch: LogBatchDocument = { _id: compositeId(roomId, String(fromSeq)), roomId, fromSeq, toSeq };
      const totalBytes = updates.reduce((sum, update) => sum + update.byteLength, 0);
      if (totalBytes <= this.chunkBytes) {
        batch.updates = updates.map(toBinary);
      } else {
        batch.chunked = true;
        batch.lengths = updates.map((update) => update.byteLength);
        batch.blob = await this.blobStore().write(concat(updates, totalBytes));
      }
      // The batch becomes visible in one insert, with all its updates or none.
      await this.log(db).insertOne(batch);
      return toSeq;
    });
  }

  async loadDocument(roomId: string): Promise<StoredDocument> {
    const db = this.open('loadDocument', roomId);
    return this.run('loadDocument', roomId, async () => {
      // A compaction may replace the snapshot and delete log entries while we read; start over then.
      for (let attempt = 1; ; attempt++) {
        try {
          const pointer = await this.snapshots(db).findOne({ _id: roomId });
          const snapshotSeq = pointer?.throughSeq ?? 0;
          const snapshot = pointer ? await this.blobStore().read(pointer.blob) : null;
          const batches = await this.log(db).find({ roomId, toSeq: { $gt: snapshotSeq } }).sort({ fromSeq: 1 }).toArray();
          const updates: StoredDocument['updates'] = [];
          for (const batch of batches) {
            const datas = await this.readBatch(batch);
            datas.forEach((data, index) => {
              const seq = batch.fromSeq + index;
              if (seq > snapshotSeq) updates.push({ seq, data });
            });
          }
          const recheck = await this.snapshots(db).findOne({ _id: roomId });
          if ((recheck?.blob.id ?? null) !== (pointer?.blob.id ?? null)) throw new MissingBlobError('the snapshot changed while loading');
          return { snapshot, snapshotSeq, updates };
        } catch (error) {
          if (!(error instanceof MissingBlobError) || attempt >= LOAD_ATTEMPTS) throw error;
        }
      }
    });
  }

  /**
   * Order matters for crash safety: (1) snapshot blob, (2) pointer, (3) old snapshot blob and
   * covered log batches. A crash after (2) leaves covered batches behind; loadDocument skips them.
   * A snapshot older than the stored one is ignored (the conditional upsert then hits the _id).
   */
  async writeSnapshot(roomId: string, snapshot: Uint8Array, throughSeq: number): Promise<void> {
    const db = this.open('writeSnapshot', roomId);
    if (!Number.isSafeInteger(throughSeq) || throughSeq < 0) {
      throw new StoreError('writeSnapshot', roomId, 'invalid', `throughSeq must be a non-negative integer, got ${throughSeq}`);
    }
    await this.run('writeSnapshot', roomId, async () => {
      const blobs = this.blobStore();
      const previous = await this.snapshots(db).findOne({ _id: roomId });
      if (previous && previous.throughSeq > throughSeq) return;
      const blob = await blobs.write(snapshot);
      try {
        await this.snapshots(db).replaceOne({ _id: roomId, throughSeq: { $lte: throughSeq } }, { throughSeq, blob }, { upsert: true });
      } catch (error) {
        await blobs.delete([blob]);
        if (isDuplicateKey(error)) return; // a newer snapshot won the race
        throw error;
      }
      // Never hand out a seq the snapshot already claims to cover (only matters if throughSeq ran ahead).
      await this.logHeads(db)
        .updateOne({ _id: roomId, seq: { $lt: throughSeq } }, { $set: { seq: throughSeq } }, { upsert: true })
        .catch((error: unknown) => {
          if (!isDuplicateKey(error)) throw error;
        });
      if (previous) await blobs.delete([previous.blob]);
      await this.deleteCoveredLog(roomId, throughSeq);
    });
  }

  /**
   * Drops log batches a snapshot fully covers (a batch reaching past throughSeq stays; loadDocument
   * skips its covered part). Separate so tests can simulate a crash right before it.
   */
  protected async deleteCoveredLog(roomId: string, throughSeq: number): Promise<void> {
    const db = this.open('writeSnapshot', roomId);
    const chunkedBatches = await this.log(db).find({ roomId, toSeq: { $lte: throughSeq }, chunked: true }).toArray();
    await this.log(db).deleteMany({ roomId, toSeq: { $lte: throughSeq } });
    await this.blobStore().delete(chunkedBatches.flatMap((batch) => (batch.blob ? [batch.blob] : [])));
  }

  // ---- named versions ----

  async saveVersion(version: VersionRecord): Promise<void> {
    const db = this.open('saveVersion', version.roomId);
    await this.run('saveVersion', version.roomId, async () => {
      const _id = compositeId(version.roomId, version.id);
      if (await this.versions(db).findOne({ _id })) throw new StoreError('saveVersion', version.roomId, 'conflict', `version ${version.id} already exists`);
      const blob = await this.blobStore().write(version.snapshot);
      try {
        await this.versions(db).insertOne({
          _id,
          roomId: version.roomId,
          id: version.id,
          name: version.name,
          createdAt: version.createdAt,
          createdBy: version.createdBy,
          order: new ObjectId(),
          blob,
        });
      } catch (error) {
        await this.blobStore().delete([blob]);
        if (isDuplicateKey(error)) throw new StoreError('saveVersion', version.roomId, 'conflict', `version ${version.id} already exists`);
        throw error;
      }
    });
  }

  async listVersions(roomId: string): Promise<Omit<VersionRecord, 'snapshot'>[]> {
    const db = this.open('listVersions', roomId);
    const docs = await this.run('listVersions', roomId, () => this.versions(db).find({ roomId }).sort({ createdAt: -1, order: -1 }).toArray());
    return docs.map((doc) => ({ roomId: doc.roomId, id: doc.id, name: doc.name, createdAt: doc.createdAt, createdBy: doc.createdBy }));
  }

  async getVersion(roomId: string, versionId: string): Promise<VersionRecord | null> {
    const db = this.open('getVersion', roomId);
    return this.run('getVersion', roomId, async () => {
      const doc = await this.versions(db).findOne({ _id: compositeId(roomId, versionId) });
      if (!doc) return null;
      const snapshot = await this.blobStore().read(doc.blob);
      return { roomId: doc.roomId, id: doc.id, name: doc.name, createdAt: doc.createdAt, createdBy: doc.createdBy, snapshot };
    });
  }

  // ---- AI proposals and feedback ----

  async saveProposal(proposal: ProposalRecord): Promise<void> {
    const db = this.open('saveProposal', proposal.roomId);
    const _id = compositeId(proposal.roomId, proposal.id);
    const doc: ProposalDocument = { ...proposal, _id };
    await this.run('saveProposal', proposal.roomId, () => this.proposals(db).replaceOne({ _id }, doc, { upsert: true }));
  }

  async getProposal(roomId: string, proposalId: string): Promise<ProposalRecord | null> {
    const db = this.open('getProposal', roomId);
    const doc = await this.run('getProposal', roomId, () => this.proposals(db).findOne({ _id: compositeId(roomId, proposalId) }));
    return doc ? proposalFromDocument(doc) : null;
  }

  async listProposals(roomId: string, limit: number): Promise<ProposalRecord[]> {
    const db = this.open('listProposals', roomId);
    if (limit <= 0) return [];
    const docs = await this.run('listProposals', roomId, () =>
      this.proposals(db).find({ roomId }).sort({ createdAt: -1, id: -1 }).limit(Math.floor(limit)).toArray(),
    );
    return docs.map(proposalFromDocument);
  }

  async addFeedback(feedback: FeedbackRecord): Promise<void> {
    const db = this.open('addFeedback', feedback.roomId);
    const doc: FeedbackDocument = { ...feedback, _id: new ObjectId() };
    await this.run('addFeedback', feedback.roomId, () => this.feedback(db).insertOne(doc));
  }

  async listFeedback(roomId: string, memberId?: string): Promise<FeedbackRecord[]> {
    const db = this.open('listFeedback', roomId);
    const filter = memberId === undefined ? { roomId } : { roomId, memberId };
    const docs = await this.run('listFeedback', roomId, () => this.feedback(db).find(filter).sort({ at: 1, _id: 1 }).toArray());
    return docs.map((doc) => ({
      roomId: doc.roomId,
      memberId: doc.memberId,
      proposalId: doc.proposalId,
      alternative: doc.alternative,
      action: doc.action,
      text: doc.text,
      at: doc.at,
    }));
  }

  // ---- images ----

  async putImage(image: ImageRecord): Promise<void> {
    const db = this.open('putImage', image.roomId);
    await this.run('putImage', image.roomId, async () => {
      const _id = compositeId(image.roomId, image.id);
      const previous = await this.images(db).findOne({ _id });
      const doc: ImageDocument = { _id, roomId: image.roomId, id: image.id, mime: image.mime, createdAt: image.createdAt };
      if (image.proposalId !== undefined) doc.proposalId = image.proposalId;
      if (image.data.byteLength <= this.chunkBytes) doc.data = toBinary(image.data);
      else doc.blob = await this.blobStore().write(image.data);
      await this.images(db).replaceOne({ _id }, doc, { upsert: true });
      if (previous?.blob) await this.blobStore().delete([previous.blob]);
    });
  }

  async getImage(roomId: string, imageId: string): Promise<ImageRecord | null> {
    const db = this.open('getImage', roomId);
    return this.run('getImage', roomId, async () => {
      const doc = await this.images(db).findOne({ _id: compositeId(roomId, imageId) });
      if (!doc) return null;
      const data = doc.blob ? await this.blobStore().read(doc.blob) : doc.data ? fromBinary(doc.data) : new Uint8Array(0);
      const image: ImageRecord = { roomId: doc.roomId, id: doc.id, mime: doc.mime, data, createdAt: doc.createdAt };
      if (doc.proposalId != null) image.proposalId = doc.proposalId;
      return image;
    });
  }

  // ---- internals ----

  private open(operation: string, roomId: string | null): Db {
    if (!this.db) throw new StoreError(operation, roomId, 'closed', 'the MongoDB store is not open (call init first)');
    return this.db;
  }

  private blobStore(): MongoBlobs {
    if (!this.blobs) throw new Error('the MongoDB store is not open');
    return this.blobs;
  }

  /** Runs a driver call, turning failures into StoreErrors that name the operation and room. */
  private async run<T>(operation: string, roomId: string | null, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw StoreError.wrap(operation, roomId, error);
    }
  }

  /** Returns whether the code was newly inserted (false: the identical code already existed). */
  private async insertJoinCode(operation: string, code: JoinCodeRecord): Promise<boolean> {
    const joinCodes = this.joinCodes(this.open(operation, code.roomId));
    try {
      await joinCodes.insertOne({ _id: code.code, roomId: code.roomId, role: code.role, createdAt: code.createdAt });
      return true;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const existing = await joinCodes.findOne({ _id: code.code });
      if (existing && existing.roomId === code.roomId && existing.role === code.role) return false;
      throw new StoreError(operation, code.roomId, 'conflict', `join code ${code.code} is already in use`);
    }
  }

  /** Reserves `count` seqs for a room in one atomic $inc; returns the last of them. */
  private async allocateSeqs(db: Db, roomId: string, count: number): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        const head = await this.logHeads(db).findOneAndUpdate({ _id: roomId }, { $inc: { seq: count } }, { upsert: true, returnDocument: 'after' });
        if (!head) throw new Error('the seq counter did not return a value');
        return head.seq;
      } catch (error) {
        // Two first appends to a room may race to create the counter; the loser simply retries.
        if (!isDuplicateKey(error) || attempt >= 3) throw error;
      }
    }
  }

  private async readBatch(batch: LogBatchDocument): Promise<Uint8Array[]> {
    if (!batch.chunked) return (batch.updates ?? []).map(fromBinary);
    if (!batch.blob || !batch.lengths) throw new Error(`log batch ${batch._id} is missing its blob reference`);
    const bytes = await this.blobStore().read(batch.blob);
    const out: Uint8Array[] = [];
    let offset = 0;
    for (const length of batch.lengths) {
      out.push(bytes.subarray(offset, offset + length));
      offset += length;
    }
    return out;
  }

  /** Secondary indexes speed up the per-room queries; uniqueness itself rests on _id. */
  private async createIndexes(db: Db): Promise<boolean> {
    try {
      await this.members(db).createIndex({ roomId: 1, createdAt: 1 });
      await this.log(db).createIndex({ roomId: 1, fromSeq: 1 }, { unique: true });
      await this.log(db).createIndex({ roomId: 1, toSeq: 1 });
      await this.versions(db).createIndex({ roomId: 1, createdAt: -1 });
      await this.proposals(db).createIndex({ roomId: 1, createdAt: -1 });
      await this.feedback(db).createIndex({ roomId: 1, memberId: 1, at: 1 });
      await db.collection<BlobPartDocument>('blobs').createIndex({ blobId: 1 });
      return true;
    } catch (error) {
      // Servers without createIndex (some test servers) still work; only unsupported-command errors are tolerated.
      if (error instanceof MongoServerError && (error.code === 59 || error.code === 115)) return false;
      throw error;
    }
  }

  private rooms(db: Db): Collection<RoomDocument> {
    return db.collection<RoomDocument>('rooms');
  }
  private joinCodes(db: Db): Collection<JoinCodeDocument> {
    return db.collection<JoinCodeDocument>('joinCodes');
  }
  private members(db: Db): Collection<MemberDocument> {
    return db.collection<MemberDocument>('members');
  }
  private logHeads(db: Db): Collection<LogHeadDocument> {
    return db.collection<LogHeadDocument>('logHeads');
  }
  private log(db: Db): Collection<LogBatchDocument> {
    return db.collection<LogBatchDocument>('log');
  }
  private snapshots(db: Db): Collection<SnapshotDocument> {
    return db.collection<SnapshotDocument>('snapshots');
  }
  private versions(db: Db): Collection<VersionDocument> {
    return db.collection<VersionDocument>('versions');
  }
  private proposals(db: Db): Collection<ProposalDocument> {
    return db.collection<ProposalDocument>('proposals');
  }
  private feedback(db: Db): Collection<FeedbackDocument> {
    return db.collection<FeedbackDocument>('feedback');
  }
  private images(db: Db): Collection<ImageDocument> {
    return db.collection<ImageDocument>('images');
  }
}

/** Room ids never contain '/', so `roomId/rest` is unambiguous. */
function compositeId(roomId: string, rest: string): string {
  return `${roomId}/${rest}`;
}

function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === 11000;
}

function concat(parts: Uint8Array[], totalBytes: number): Uint8Array {
  const out = new Uint8Array(totalBytes);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function roomFromDocument(doc: RoomDocument): RoomRecord {
  return { id: doc._id, name: doc.name, kind: doc.kind, joinCode: doc.joinCode, ownerId: doc.ownerId, createdAt: doc.createdAt, settings: doc.settings };
}

function memberFromDocument(doc: MemberDocument): MemberRecord {
  return { roomId: doc.roomId, id: doc.id, displayName: doc.displayName, role: doc.role, createdAt: doc.createdAt };
}

/** Copies the record's own fields, dropping _id and any nulls a server may have stored for absent ones. */
function proposalFromDocument(doc: ProposalDocument): ProposalRecord {
  const { _id: _ignored, ...rest } = doc;
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) if (value !== null && value !== undefined) record[key] = value;
  return record as unknown as ProposalRecord;
}
