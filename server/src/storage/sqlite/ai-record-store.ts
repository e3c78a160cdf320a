import type Database from 'better-sqlite3';
import type { AiRecordStore, FeedbackRecord, ImageRecord, ProposalRecord } from '../store';
import { preparedStatements, toBuffer, toBytes, type SqliteConnection } from './connection';

interface FeedbackRow {
  room_id: string;
  member_id: string;
  proposal_id: string;
  alternative: number;
  action: FeedbackRecord['action'];
  text: string;
  at: string;
}
interface ImageRow {
  room_id: string;
  id: string;
  mime: string;
  data: Buffer;
  created_at: string;
  proposal_id: string | null;
}

const statements = preparedStatements((db: Database.Database) => ({
  upsertProposal: db.prepare<[string, string, string, string]>('INSERT OR REPLACE INTO proposals (room_id, id, created_at, record) VALUES (?, ?, ?, ?)'),
  listProposals: db.prepare<[string, number], { record: string }>('SELECT record FROM proposals WHERE room_id = ? ORDER BY created_at DESC, id DESC LIMIT ?'),
  insertFeedback: db.prepare<[FeedbackRow]>(
    'INSERT INTO feedback (room_id, member_id, proposal_id, alternative, action, text, at) VALUES (@room_id, @member_id, @proposal_id, @alternative, @action, @text, @at)',
  ),
  listFeedback: db.prepare<[string], FeedbackRow>('SELECT * FROM feedback WHERE room_id = ? ORDER BY at, rowid'),
  listMemberFeedback: db.prepare<[string, string], FeedbackRow>('SELECT * FROM feedback WHERE room_id = ? AND member_id = ? ORDER BY at, rowid'),
  upsertImage: db.prepare<[ImageRow]>(
    'INSERT OR REPLACE INTO images (room_id, id, mime, data, created_at, proposal_id) VALUES (@room_id, @id, @mime, @data, @created_at, @proposal_id)',
  ),
  getImage: db.prepare<[string, string], ImageRow>('SELECT * FROM images WHERE room_id = ? AND id = ?'),
}));

/** Proposals (kept whole as JSON), feedback and images in SQLite. */
export class SqliteAiRecordStore implements AiRecordStore {
  constructor(private readonly connection: SqliteConnection) {}

  saveProposal(proposal: ProposalRecord): Promise<void> {
    return this.connection.run('saveProposal', proposal.roomId, (db) => {
      statements(db).upsertProposal.run(proposal.roomId, proposal.id, proposal.createdAt, JSON.stringify(proposal));
    });
  }

  listProposals(roomId: string, limit: number): Promise<ProposalRecord[]> {
    return this.connection.run('listProposals', roomId, (db) => {
      if (limit <= 0) return [];
      return statements(db)
        .listProposals.all(roomId, Math.floor(limit))
        .map((row) => JSON.parse(row.record) as ProposalRecord);
    });
  }

  addFeedback(feedback: FeedbackRecord): Promise<void> {
    return this.connection.run('addFeedback', feedback.roomId, (db) => {
      const { roomId, memberId, proposalId, alternative, action, text, at } = feedback;
      statements(db).insertFeedback.run({ room_id: roomId, member_id: memberId, proposal_id: proposalId, alternative, action, text, at });
    });
  }

  listFeedback(roomId: string, memberId?: string): Promise<FeedbackRecord[]> {
    return this.connection.run('listFeedback', roomId, (db) => {
      const s = statements(db);
      const rows = memberId === undefined ? s.listFeedback.all(roomId) : s.listMemberFeedback.all(roomId, memberId);
      return rows.map((row) => ({
        roomId: row.room_id,
        memberId: row.member_id,
        proposalId: row.proposal_id,
        alternative: row.alternative,
        action: row.action,
        text: row.text,
        at: row.at,
      }));
    });
  }

  /** Insert or replace by (roomId, id). */
  putImage(image: ImageRecord): Promise<void> {
    return this.connection.run('putImage', image.roomId, (db) => {
      const { roomId, id, mime, data, createdAt, proposalId } = image;
      statements(db).upsertImage.run({ room_id: roomId, id, mime, data: toBuffer(data), created_at: createdAt, proposal_id: proposalId ?? null });
    });
  }

  getImage(roomId: string, imageId: string): Promise<ImageRecord | null> {
    return this.connection.run('getImage', roomId, (db) => {
      const row = statements(db).getImage.get(roomId, imageId);
      if (!row) return null;
      const image: ImageRecord = { roomId: row.room_id, id: row.id, mime: row.mime, data: toBytes(row.data), createdAt: row.created_at };
      if (row.proposal_id !== null) image.proposalId = row.proposal_id;
      return image;
    });
  }
}
