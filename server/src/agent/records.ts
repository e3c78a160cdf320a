import type { Logger } from 'pino';
import type { RecommendationService } from '../recommendation';
import type { AiRecordStore, FeedbackAction, ImageRecord, ProposalRecord, RoomRecord, RoomStore } from '../storage/store';
import type { Proposal } from './types';

/** The stored form of a live proposal (an accepted text alternative is stored as inserted). */
export function toProposalRecord(roomId: string, p: Proposal): ProposalRecord {
  const record: ProposalRecord = {
    roomId,
    id: p.info.id,
    kind: p.kind,
    requestedBy: p.info.requestedBy.memberId,
    mode: p.info.mode,
    model: p.info.model,
    createdAt: p.info.createdAt,
    status: p.info.status,
    alternatives:
      p.kind === 'text'
        ? p.alts.map((a) => (a.index === p.acceptedAlternative && p.insertedText !== undefined ? p.insertedText : a.text))
        : p.images.map((i) => i.imageId),
  };
  if (p.info.instruction) record.instruction = p.info.instruction;
  if (p.kind === 'image') record.panelId = p.panelId;
  if (p.acceptedAlternative !== undefined) record.acceptedAlternative = p.acceptedAlternative;
  if (p.acceptedBy) record.acceptedBy = p.acceptedBy;
  if (p.kind === 'text') {
    if (p.inserted) record.inserted = p.inserted;
    if (p.replaced?.length) record.replaced = p.replaced;
    if (p.revertedBy) record.revertedBy = p.revertedBy;
    if (p.revertedAt) record.revertedAt = p.revertedAt;
  }
  return record;
}

/**
 * Everything one room's agent reads from and writes to storage: the room record, proposals,
 * images, and members' feedback (through the recommendation service). The one place to change
 * when the storage API changes.
 */
export class AgentRecords {
  constructor(
    private readonly roomId: string,
    private readonly rooms: Pick<RoomStore, 'getRoom'>,
    private readonly records: Pick<AiRecordStore, 'listProposals' | 'saveProposal' | 'putImage'>,
    private readonly recommendations: RecommendationService,
    private readonly logger: Logger,
    /** The fencing check: false when this process no longer runs the room's AI (its writes are refused). */
    private readonly fence: () => Promise<boolean> = async () => true,
  ) {}

  room(): Promise<RoomRecord | null> {
    return this.rooms.getRoom(this.roomId);
  }

  /** Who requested each stored proposal of the room (for the per-member quota). */
  async requesters(): Promise<string[]> {
    return (await this.records.listProposals(this.roomId, 100_000)).map((p) => p.requestedBy);
  }

  /** Saves the proposal's current state; a failure is logged, never thrown. */
  async save(p: Proposal): Promise<void> {
    try {
      if (!(await this.fence())) return this.refused(p.info.id);
      await this.records.saveProposal(toProposalRecord(this.roomId, p));
    } catch (err) {
      this.logger.error({ err, roomId: this.roomId, proposalId: p.info.id }, 'saving proposal failed');
    }
  }

  /** A stored proposal of the room (one no longer live in memory), or null. */
  async proposal(id: string): Promise<ProposalRecord | null> {
    return (await this.records.listProposals(this.roomId, 100_000)).find((p) => p.id === id) ?? null;
  }

  /** Saves a stored record as changed (a revert of a proposal no longer in memory); logged, never thrown. */
  async saveRecord(record: ProposalRecord): Promise<void> {
    try {
      if (!(await this.fence())) return this.refused(record.id);
      await this.records.saveProposal(record);
    } catch (err) {
      this.logger.error({ err, roomId: this.roomId, proposalId: record.id }, 'saving proposal failed');
    }
  }

  /**
   * Marks the stored proposals still `streaming` (not `live` here) failed: a new AI owner's clean-up
   * of what a dead one left half-written. Returns them, with how many alternatives each had.
   */
  async endOrphans(live: (id: string) => boolean): Promise<Array<{ id: string; alternatives: number }>> {
    try {
      const orphans = (await this.records.listProposals(this.roomId, 100_000)).filter((p) => p.status === 'streaming' && !live(p.id));
      for (const p of orphans) await this.saveRecord({ ...p, status: 'failed' });
      return orphans.map((p) => ({ id: p.id, alternatives: p.alternatives.length }));
    } catch (err) {
      this.logger.error({ err, roomId: this.roomId }, "ending a previous AI owner's proposals failed");
      return [];
    }
  }

  private refused(proposalId: string): void {
    this.logger.warn({ roomId: this.roomId, proposalId }, "not saving the proposal: another server runs this room's AI now");
  }

  putImage(image: Omit<ImageRecord, 'roomId'>): Promise<void> {
    return this.records.putImage({ roomId: this.roomId, ...image });
  }

  /** A member's reaction to a proposal's alternative (or a suggestion), for their rankings. */
  feedback(memberId: string, targetId: string, alternative: number, action: FeedbackAction, text: string): Promise<void> {
    return this.recommendations.record(this.roomId, memberId, targetId, alternative, action, text);
  }
}
