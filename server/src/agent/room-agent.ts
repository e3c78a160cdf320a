import type * as Y from 'yjs';
import { AGENT_DISPLAY_NAME, AGENT_MEMBER_ID, encodeAnchor, type AiAllowance, type ModerationFlag, type ProposalInfo, type ProposalRequest, type ProposalSnapshot, type RevertResult, type Suggestion, type VoteTally } from '@ensemble/shared';
import { ORIGINS, type LoadedRoom } from '../ports';
import type { LibraryPassage } from '../recommendation';
import type { RoomRecord } from '../storage/store';
import { Admission } from './admission';
import { AutoMode } from './auto-mode';
import { HumanTextFlags } from './flags';
import { AgentError } from './errors';
import { ImageProposals } from './image-proposals';
import { LiveProposals } from './live-proposals';
import { AgentPresence } from './presence';
import { AgentRecords } from './records';
import { RoomRecommendations } from './recommendations';
import { TextProposals } from './text-proposals';
import { AgentWriter } from './writer';
import type { Actor, RoomAgentDeps, RoomScope } from './types';

export type { Actor, AgentLimits, RoomAgentDeps } from './types';

/**
 * The agent in one room. Owns the room's state and lifecycle — the loaded document and the agent's
 * Yjs client on it, its presence, the settings cache, the live proposals — and hands them to its
 * collaborators: admission (roles, quota, rate), text and image proposals, recommendations, auto
 * mode and records (storage).
 */
export class RoomAgent {
  private room: LoadedRoom | null = null;
  private presence: AgentPresence | null = null;
  private writer: AgentWriter | null = null;
  private settingsCache: { at: number; room: RoomRecord } | null = null;
  /**
   * The fencing token of this process's AI lease on the room: null while another process runs the
   * room's AI, 0 with one process (no lease, always the owner).
   */
  private ownerToken: number | null;
  private readonly records: AgentRecords;
  private readonly live: LiveProposals;
  private readonly text: TextProposals;
  private readonly images: ImageProposals;
  private readonly recommendations: RoomRecommendations;
  private readonly admission: Admission;
  private readonly auto: AutoMode;
  private readonly flags: HumanTextFlags;
  private readonly onDocUpdate = (_u: Uint8Array, origin: unknown): void => {
    // Auto offers and flags come from the room's AI owner only (every process sees every update).
    if (origin === ORIGINS.agent || this.ownerToken === null) return;
    this.auto.schedule();
    if (this.room) this.flags.schedule(this.room.doc);
  };

  constructor(
    readonly roomId: string,
    private readonly deps: RoomAgentDeps,
  ) {
    this.ownerToken = deps.ctx.agentLeases ? null : 0;
    const scope: RoomScope = {
      roomId,
      deps,
      emit: (event, ...args) => deps.emit(roomId, event, ...args),
      roomRecord: (maxAgeMs) => this.roomRecord(maxAgeMs),
      withDoc: (fn) => this.withDoc(fn),
      writeAsAgent: (room, edit) => this.writeAsAgent(room, edit),
      updatePresence: () => this.presence?.set(this.live.state()),
    };
    const records = (this.records = new AgentRecords(roomId, deps.ctx.store.rooms, deps.ctx.store.records, deps.recommendations, deps.ctx.logger, () => this.fenceHolds()));
    this.live = new LiveProposals(deps.limits.maxProposalsKept);
    this.admission = new Admission({
      roomId,
      engineAvailable: deps.engine !== null,
      limiter: deps.limiter,
      maxConcurrentPerRoom: deps.limits.maxConcurrentPerRoom,
      room: () => this.roomRecord(),
      storedRequesters: () => records.requesters(),
    });
    this.text = new TextProposals(scope, this.live, this.admission, records);
    this.images = new ImageProposals(scope, this.live, this.admission, records);
    this.recommendations = new RoomRecommendations(scope, this.admission, records);
    this.flags = new HumanTextFlags({
      // Classrooms only: the teacher sees students' words; other rooms are their authors' own.
      moderation: async () => {
        const room = await this.roomRecord();
        return room.kind === 'classroom' ? deps.moderation.withWords(room.settings.blockedWords) : null;
      },
      notify: (flag) => deps.emitToOwners(roomId, 'moderation:flagged', flag),
    });
    this.auto = new AutoMode({
      engineAvailable: deps.engine !== null,
      minIntervalSec: deps.limits.autoMinIntervalSec,
      cached: () => this.settingsCache,
      roomRecord: (maxAgeMs) => this.roomRecord(maxAgeMs),
      doc: () => this.room?.doc ?? null,
      activeGenerations: () => this.text.activeGenerations,
      memberCount: async () => (await deps.members(roomId)).length,
      offer: (anchor) =>
        this.text.request(
          { memberId: AGENT_MEMBER_ID, displayName: `${AGENT_DISPLAY_NAME} (auto)`, role: 'editor' },
          // The real anchor, encoded: members' tabs place the card's preview with it.
          { anchor: encodeAnchor(anchor), mode: 'continue', alternatives: 1 },
          { auto: true, anchor },
        ),
      onSkipped: (err) => deps.ctx.logger.debug({ err, roomId }, 'auto offer skipped'),
    });
  }

  get activeGenerations(): number {
    return this.text.activeGenerations;
  }

  // ---------- ownership (several processes: agent/ownership.ts) ----------

  /** Whether this process runs the room's AI (always, with one process). */
  get isOwner(): boolean {
    return this.ownerToken !== null;
  }

  /**
   * This process took the room's AI lease: it shows the AI's presence, and ends the proposals a
   * previous owner left streaming (its process died: nobody will finish them) as failed for everyone.
   */
  becomeOwner(token: number): void {
    this.ownerToken = token;
    if (this.room && !this.presence && this.writer) this.presence = new AgentPresence(this.room.awareness, this.writer.clientID, this.deps.textModel);
    this.presence?.set(this.live.state());
    void this.records.endOrphans((id) => this.live.has(id)).then((ended) => {
      for (const p of ended) {
        for (let alternative = 0; alternative < Math.max(1, p.alternatives); alternative++) {
          this.deps.emit(this.roomId, 'proposal:failed', { proposalId: p.id, alternative, code: 'internal', message: 'the server writing this proposal stopped' });
        }
      }
    });
  }

  /** Another process runs the room's AI now: stop generating, leave the presence to it. */
  loseOwnership(): void {
    if (this.ownerToken === null) return;
    this.ownerToken = null;
    this.auto.cancel();
    this.flags.cancel();
    this.cancelAll();
    this.presence?.dispose();
    this.presence = null;
  }

  /** The fencing check before the agent writes (document or records): false once another process runs the room's AI. */
  private async fenceHolds(): Promise<boolean> {
    const token = this.ownerToken;
    if (token === null) return false;
    if (token === 0 || !this.deps.ctx.agentLeases) return true;
    if (await this.deps.ctx.agentLeases.isCurrent(this.roomId, token)) return true;
    if (this.ownerToken === token) this.loseOwnership();
    return false;
  }

  // ---------- lifecycle ----------

  /** The room's document was loaded: join its awareness and get a Yjs client for writing. */
  attach(room: LoadedRoom): void {
    if (this.room === room) return;
    this.detach();
    this.room = room;
    this.writer = new AgentWriter(room.doc);
    // Only the room's AI owner shows the AI's presence (the others' agents are passive).
    if (this.isOwner) {
      this.presence = new AgentPresence(room.awareness, this.writer.clientID, this.deps.textModel);
      this.presence.set(this.live.state());
    }
    room.doc.on('update', this.onDocUpdate);
  }

  detach(): void {
    this.auto.cancel();
    this.flags.cancel();
    if (this.room) this.room.doc.off('update', this.onDocUpdate);
    this.presence?.dispose();
    this.presence = null;
    this.writer = null;
    this.room = null;
  }

  dispose(): void {
    this.auto.dispose();
    this.cancelAll();
    this.detach();
  }

  /** Stops every running generation (the room emptied, or shutdown). */
  cancelAll(): void {
    this.live.abortAll();
  }

  /** What the member may still ask the AI (quota and rate), for their `ai:allowance`. */
  allowance(actor: Actor): Promise<AiAllowance> {
    return this.admission.allowance(actor);
  }

  /** Settings changed through the REST API: drop the cached room so the next check reads them. */
  settingsChanged(): void {
    this.settingsCache = null;
  }

  private async roomRecord(maxAgeMs = 1000): Promise<RoomRecord> {
    const now = Date.now();
    if (this.settingsCache && now - this.settingsCache.at < maxAgeMs) return this.settingsCache.room;
    const room = await this.records.room();
    if (!room) throw new AgentError('not_found', 'room not found');
    this.settingsCache = { at: now, room };
    return room;
  }

  private async withDoc<T>(fn: (room: LoadedRoom) => T | Promise<T>): Promise<T> {
    // Fencing: every read-for-generation and write of the agent goes through here; a stale owner stops.
    if (this.ownerToken !== 0 && !(await this.fenceHolds())) throw new AgentError('busy', "another server runs this room's AI collaborator now; try again");
    const loaded = this.deps.ctx.documents.peek(this.roomId);
    if (loaded) {
      if (this.room !== loaded) this.attach(loaded);
      return fn(loaded);
    }
    const room = await this.deps.ctx.documents.acquire(this.roomId);
    try {
      if (this.room !== room) this.attach(room);
      return await fn(room);
    } finally {
      this.deps.ctx.documents.release(this.roomId);
    }
  }

  private writeAsAgent<T>(room: LoadedRoom, edit: (doc: Y.Doc) => T): T {
    if (!this.writer || this.room !== room) this.attach(room);
    return this.writer!.edit(edit);
  }

  // ---------- requests (the gateway's events) ----------

  request(actor: Actor, req: ProposalRequest): Promise<ProposalInfo> {
    return this.text.request(actor, req);
  }

  vote(actor: Actor, proposalId: string, alternative: number, value: 1 | -1 | 0): Promise<VoteTally> {
    return this.text.vote(actor, proposalId, alternative, value);
  }

  accept(actor: Actor, proposalId: string, alternative: number): Promise<void> {
    return this.text.accept(actor, proposalId, alternative);
  }

  revert(actor: Actor, proposalId: string): Promise<RevertResult> {
    return this.text.revert(actor, proposalId);
  }

  async reject(actor: Actor, proposalId: string, alternative?: number): Promise<void> {
    this.admission.requireEditor(actor, 'viewers cannot reject proposals');
    const p = this.live.get(proposalId);
    if (p.kind === 'image') await this.images.reject(actor, p, alternative);
    else await this.text.reject(actor, p, alternative);
  }

  stop(actor: Actor, proposalId: string): void {
    this.text.stop(actor, proposalId);
  }

  regenerate(actor: Actor, proposalId: string, count?: number): Promise<ProposalInfo> {
    return this.text.regenerate(actor, proposalId, count);
  }

  snapshots(memberId: string): Promise<ProposalSnapshot[]> {
    return this.text.snapshots(memberId);
  }

  requestImages(actor: Actor, panelId: string, prompt: string | undefined, count: number): Promise<ProposalInfo> {
    return this.images.request(actor, panelId, prompt, count, this.text.activeGenerations);
  }

  acceptImage(actor: Actor, proposalId: string, alternative: number): Promise<void> {
    return this.images.accept(actor, proposalId, alternative);
  }

  /** The room's flagged human text (owner only). */
  flagsFor(actor: Actor): ModerationFlag[] {
    if (actor.role !== 'owner') throw new AgentError('forbidden', 'only the room owner sees flagged text');
    return this.flags.list();
  }

  dismiss(actor: Actor, suggestionId: string): Promise<void> {
    return this.recommendations.dismiss(actor, suggestionId);
  }

  next(actor: Actor, anchor: string | undefined, library: LibraryPassage[]): Promise<Suggestion[]> {
    return this.recommendations.next(actor, anchor, library);
  }
}
