import type { Binary, Db } from 'mongodb';
import type { DocumentLog, StoredDocument } from '../store';
import { checkThroughSeq } from '../store-error';
import { compositeId, isDuplicateKey, type MongoConnection, type MongoHandle } from './connection';
import { MissingBlobError, fromBinary, toBinary, type BlobRef, type MongoBlobs } from './mongo-blobs';

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

const logHeads = (db: Db) => db.collection<LogHeadDocument>('logHeads');
const log = (db: Db) => db.collection<LogBatchDocument>('log');
const snapshots = (db: Db) => db.collection<SnapshotDocument>('snapshots');

/** How often loadDocument starts over when a concurrent compaction changed the snapshot under it. */
const LOAD_ATTEMPTS = 5;

/**
 * The update log and snapshots in MongoDB. Seqs come from a per-room counter document incremented
 * atomically ($inc), so any number of server processes may append to the same room. A batch
 * allocates its whole range with one $inc and is written as ONE log document, which keeps
 * collections small. A failed write leaves a gap in the seqs, never a duplicate.
 */
export class MongoDocumentLog implements DocumentLog {
  constructor(private readonly connection: MongoConnection) {}

  appendUpdates(roomId: string, updates: Uint8Array[]): Promise<number> {
    return this.connection.run('appendUpdates', roomId, async ({ db, blobs }) => {
      if (updates.length === 0) return (await logHeads(db).findOne({ _id: roomId }))?.seq ?? 0;
      const toSeq = await allocateSeqs(db, roomId, updates.length);
      const fromSeq = toSeq - updates.length + 1;
      const batch: LogBatchDocument = { _id: compositeId(roomId, String(fromSeq)), roomId, fromSeq, toSeq };
      const totalBytes = updates.reduce((sum, update) => sum + update.byteLength, 0);
      if (totalBytes <= blobs.chunkBytes) {
        batch.updates = updates.map(toBinary);
      } else {
        batch.chunked = true;
        batch.lengths = updates.map((update) => update.byteLength);
        batch.blob = await blobs.write(concat(updates, totalBytes));
      }
      // The batch becomes visible in one insert, with all its updates or none.
      await log(db).insertOne(batch);
      return toSeq;
    });
  }

  loadDocument(roomId: string): Promise<StoredDocument> {
    return this.connection.run('loadDocument', roomId, async ({ db, blobs }) => {
      // A compaction may replace the snapshot and delete log entries while we read; start over then.
      for (let attempt = 1; ; attempt++) {
        try {
          const pointer = await snapshots(db).findOne({ _id: roomId });
          const snapshotSeq = pointer?.throughSeq ?? 0;
          const snapshot = pointer ? await blobs.read(pointer.blob) : null;
          const batches = await log(db).find({ roomId, toSeq: { $gt: snapshotSeq } }).sort({ fromSeq: 1 }).toArray();
          const updates: StoredDocument['updates'] = [];
          for (const batch of batches) {
            const datas = await readBatch(blobs, batch);
            datas.forEach((data, index) => {
              const seq = batch.fromSeq + index;
              if (seq > snapshotSeq) updates.push({ seq, data });
            });
          }
          const recheck = await snapshots(db).findOne({ _id: roomId });
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
  writeSnapshot(roomId: string, snapshot: Uint8Array, throughSeq: number): Promise<void> {
    return this.connection.run('writeSnapshot', roomId, async (handle) => {
      checkThroughSeq(roomId, throughSeq);
      const { db, blobs } = handle;
      const previous = await snapshots(db).findOne({ _id: roomId });
      if (previous && previous.throughSeq > throughSeq) return;
      const blob = await blobs.write(snapshot);
      try {
        await snapshots(db).replaceOne({ _id: roomId, throughSeq: { $lte: throughSeq } }, { throughSeq, blob }, { upsert: true });
      } catch (error) {
        await blobs.delete([blob]);
        if (isDuplicateKey(error)) return; // a newer snapshot won the race
        throw error;
      }
      // Never hand out a seq the snapshot already claims to cover (only matters if throughSeq ran ahead).
      await logHeads(db)
        .updateOne({ _id: roomId, seq: { $lt: throughSeq } }, { $set: { seq: throughSeq } }, { upsert: true })
        .catch((error: unknown) => {
          if (!isDuplicateKey(error)) throw error;
        });
      if (previous) await blobs.delete([previous.blob]);
      await this.deleteCoveredLog(handle, roomId, throughSeq);
    });
  }

  /**
   * Drops log batches a snapshot fully covers (a batch reaching past throughSeq stays; loadDocument
   * skips its covered part). Separate so tests can simulate a crash right before it.
   */
  protected async deleteCoveredLog({ db, blobs }: MongoHandle, roomId: string, throughSeq: number): Promise<void> {
    const chunkedBatches = await log(db).find({ roomId, toSeq: { $lte: throughSeq }, chunked: true }).toArray();
    await log(db).deleteMany({ roomId, toSeq: { $lte: throughSeq } });
    await blobs.delete(chunkedBatches.flatMap((batch) => (batch.blob ? [batch.blob] : [])));
  }
}

/** Reserves `count` seqs for a room in one atomic $inc; returns the last of them. */
async function allocateSeqs(db: Db, roomId: string, count: number): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      const head = await logHeads(db).findOneAndUpdate({ _id: roomId }, { $inc: { seq: count } }, { upsert: true, returnDocument: 'after' });
      if (!head) throw new Error('the seq counter did not return a value');
      return head.seq;
    } catch (error) {
      // Two first appends to a room may race to create the counter; the loser simply retries.
      if (!isDuplicateKey(error) || attempt >= 3) throw error;
    }
  }
}

async function readBatch(blobs: MongoBlobs, batch: LogBatchDocument): Promise<Uint8Array[]> {
  if (!batch.chunked) return (batch.updates ?? []).map(fromBinary);
  if (!batch.blob || !batch.lengths) throw new Error(`log batch ${batch._id} is missing its blob reference`);
  const bytes = await blobs.read(batch.blob);
  const out: Uint8Array[] = [];
  let offset = 0;
  for (const length of batch.lengths) {
    out.push(bytes.subarray(offset, offset + length));
    offset += length;
  }
  return out;
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
