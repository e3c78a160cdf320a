import { ObjectId, type Binary, type Db } from 'mongodb';
import type { AiRecordStore, FeedbackRecord, ImageRecord, ProposalRecord } from '../store';
import { compositeId, type MongoConnection } from './connection';
import { fromBinary, toBinary, type BlobRef } from './mongo-blobs';

interface ProposalDocument extends ProposalRecord {
  _id: string; // roomId/proposalId
}
interface FeedbackDocument extends FeedbackRecord {
  _id: ObjectId; // insertion order breaks ties between equal `at`
}
interface ImageDocument extends Omit<ImageRecord, 'data'> {
  _id: string; // roomId/imageId
  data?: Binary;
  blob?: BlobRef;
}

const proposals = (db: Db) => db.collection<ProposalDocument>('proposals');
const feedbackLog = (db: Db) => db.collection<FeedbackDocument>('feedback');
const images = (db: Db) => db.collection<ImageDocument>('images');

/** Proposals, feedback and images in MongoDB (images above chunkBytes live in blobs). */
export class MongoAiRecordStore implements AiRecordStore {
  constructor(private readonly connection: MongoConnection) {}

  saveProposal(proposal: ProposalRecord): Promise<void> {
    return this.connection.run('saveProposal', proposal.roomId, async ({ db }) => {
      const _id = compositeId(proposal.roomId, proposal.id);
      const doc: ProposalDocument = { ...proposal, _id };
      await proposals(db).replaceOne({ _id }, doc, { upsert: true });
    });
  }

  listProposals(roomId: string, limit: number): Promise<ProposalRecord[]> {
    return this.connection.run('listProposals', roomId, async ({ db }) => {
      if (limit <= 0) return [];
      const docs = await proposals(db).find({ roomId }).sort({ createdAt: -1, id: -1 }).limit(Math.floor(limit)).toArray();
      return docs.map(proposalFromDocument);
    });
  }

  addFeedback(feedback: FeedbackRecord): Promise<void> {
    return this.connection.run('addFeedback', feedback.roomId, async ({ db }) => {
      await feedbackLog(db).insertOne({ ...feedback, _id: new ObjectId() });
    });
  }

  listFeedback(roomId: string, memberId?: string): Promise<FeedbackRecord[]> {
    return this.connection.run('listFeedback', roomId, async ({ db }) => {
      const filter = memberId === undefined ? { roomId } : { roomId, memberId };
      const docs = await feedbackLog(db).find(filter).sort({ at: 1, _id: 1 }).toArray();
      return docs.map((doc) => ({
        roomId: doc.roomId,
        memberId: doc.memberId,
        proposalId: doc.proposalId,
        alternative: doc.alternative,
        action: doc.action,
        text: doc.text,
        at: doc.at,
      }));
    });
  }

  putImage(image: ImageRecord): Promise<void> {
    return this.connection.run('putImage', image.roomId, async ({ db, blobs }) => {
      const _id = compositeId(image.roomId, image.id);
      const previous = await images(db).findOne({ _id });
      const doc: ImageDocument = { _id, roomId: image.roomId, id: image.id, mime: image.mime, createdAt: image.createdAt };
      if (image.proposalId !== undefined) doc.proposalId = image.proposalId;
      if (image.data.byteLength <= blobs.chunkBytes) doc.data = toBinary(image.data);
      else doc.blob = await blobs.write(image.data);
      await images(db).replaceOne({ _id }, doc, { upsert: true });
      if (previous?.blob) await blobs.delete([previous.blob]);
    });
  }

  getImage(roomId: string, imageId: string): Promise<ImageRecord | null> {
    return this.connection.run('getImage', roomId, async ({ db, blobs }) => {
      const doc = await images(db).findOne({ _id: compositeId(roomId, imageId) });
      if (!doc) return null;
      const data = doc.blob ? await blobs.read(doc.blob) : doc.data ? fromBinary(doc.data) : new Uint8Array(0);
      const image: ImageRecord = { roomId: doc.roomId, id: doc.id, mime: doc.mime, data, createdAt: doc.createdAt };
      if (doc.proposalId != null) image.proposalId = doc.proposalId;
      return image;
    });
  }
}

/** Copies the record's own fields, dropping _id and any nulls a server may have stored for absent ones. */
function proposalFromDocument(doc: ProposalDocument): ProposalRecord {
  const { _id: _ignored, ...rest } = doc;
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) if (value !== null && value !== undefined) record[key] = value;
  return record as unknown as ProposalRecord;
}
