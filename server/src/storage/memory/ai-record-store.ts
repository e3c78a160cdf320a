import type { AiRecordStore, FeedbackRecord, ImageRecord, ProposalRecord } from '../store';
import { copyBytes, copyRecord, inner, type MemoryConnection } from './data';
import { compare } from './room-store';

/** Proposals, feedback and images in memory. */
export class MemoryAiRecordStore implements AiRecordStore {
  constructor(private readonly connection: MemoryConnection) {}

  /** Kept as JSON would keep it (absent optional fields stay absent), like the SQLite store. */
  saveProposal(proposal: ProposalRecord): Promise<void> {
    return this.connection.run('saveProposal', proposal.roomId, (data) => {
      inner(data.proposals, proposal.roomId).set(proposal.id, JSON.parse(JSON.stringify(proposal)) as ProposalRecord);
    });
  }

  listProposals(roomId: string, limit: number): Promise<ProposalRecord[]> {
    return this.connection.run('listProposals', roomId, (data) => {
      if (limit <= 0) return [];
      return [...(data.proposals.get(roomId)?.values() ?? [])]
        .sort((a, b) => compare(b.createdAt, a.createdAt) || compare(b.id, a.id))
        .slice(0, Math.floor(limit))
        .map((proposal) => copyRecord(proposal));
    });
  }

  addFeedback(feedback: FeedbackRecord): Promise<void> {
    return this.connection.run('addFeedback', feedback.roomId, (data) => {
      data.feedback.push(copyRecord(feedback));
    });
  }

  /** Oldest first; feedback given in the same instant in adding order. */
  listFeedback(roomId: string, memberId?: string): Promise<FeedbackRecord[]> {
    return this.connection.run('listFeedback', roomId, (data) =>
      data.feedback
        .filter((f) => f.roomId === roomId && (memberId === undefined || f.memberId === memberId))
        .map((f, order) => ({ f, order }))
        .sort((a, b) => compare(a.f.at, b.f.at) || a.order - b.order)
        .map(({ f }) => copyRecord(f)),
    );
  }

  putImage(image: ImageRecord): Promise<void> {
    return this.connection.run('putImage', image.roomId, (data) => {
      inner(data.images, image.roomId).set(image.id, { ...copyRecord({ ...image, data: null }), data: copyBytes(image.data) });
    });
  }

  getImage(roomId: string, imageId: string): Promise<ImageRecord | null> {
    return this.connection.run('getImage', roomId, (data) => {
      const image = data.images.get(roomId)?.get(imageId);
      return image ? { ...image, data: copyBytes(image.data) } : null;
    });
  }
}
