import { randomBytes, randomInt } from 'node:crypto';
import * as Y from 'yjs';
import {
  AGENT_DISPLAY_NAME,
  AGENT_MEMBER_ID,
  MAX_ALTERNATIVES,
  imageUrl,
  panelsOf,
  type AgentState,
  type ImageAlternative,
  type ProposalDone,
  type ProposalInfo,
  type ProposalMode,
  type ProposalRequest,
  type ProposalSnapshot,
  type Role,
  type RoomSettings,
  type ServerToClientEvents,
  type Suggestion,
  type VoteTally,
} from '@ensemble/shared';
import type { LoadedRoom, ServerContext } from '../ports';
import type { ProposalRecord, RoomRecord } from '../storage/store';
import type { LibraryPassage, RecommendationService } from '../recommendation';
import { endOfStoryAnchor, parseAnchor, insertAiText, linearizeStory, resolveAnchor } from './anchor';
import type { EngineLike } from './engine';
import { AgentError } from './errors';
import type { Moderation } from './moderation';
import { AgentPresence } from './presence';
import type { PromptBuilder } from './prompt';
import { mapError, type ProposalService } from './proposal-service';
import type { RateLimiter } from './rate-limit';
import { AgentWriter } from './writer';
import { ORIGINS } from '../ports';

export interface Actor {
  memberId: string;
  displayName: string;
  role: Role;
}

export interface AgentLimits {
  /** Generations (alternatives) running at once in one room. */
  maxConcurrentPerRoom: number;
  /** Seconds between two auto-mode offers in a room, at least. */
  autoMinIntervalSec: number;
  /** Finished proposals kept in memory per room (older ones live on in the store only). */
  maxProposalsKept: number;
}

export interface RoomAgentDeps {
  ctx: ServerContext;
  engine: EngineLike | null;
  proposals: ProposalService | null;
  recommendations: RecommendationService;
  moderation: Moderation;
  limiter: RateLimiter;
  prompts: PromptBuilder;
  limits: AgentLimits;
  textModel: string;
  imageModel: string;
  emit<E extends keyof ServerToClientEvents>(roomId: string, event: E, ...args: Parameters<ServerToClientEvents[E]>): void;
  /** The members connected to the room's channel, each with a way to reach that socket alone. */
  members(roomId: string): Promise<Array<{ memberId: string; ranking(e: { proposalId: string; order: number[] }): void }>>;
  onGenerationsChanged(delta: number): void;
}

interface Alternative {
  index: number;
  seed: number;
  text: string;
  seq: number;
  done: boolean;
  finishReason?: ProposalDone['finishReason'];
  reason?: string;
  failed?: boolean;
  controller: AbortController;
}

interface TextProposal {
  kind: 'text';
  info: ProposalInfo;
  anchor: Y.RelativePosition;
  anchorEnd: Y.RelativePosition | null;
  prompt: string;
  context: string;
  alts: Alternative[];
  votes: Map<string, Map<number, 1 | -1>>;
  acceptedAlternative?: number;
  acceptedBy?: string;
  insertedText?: string;
  rankingSent: boolean;
}

interface ImageProposal {
  kind: 'image';
  info: ProposalInfo;
  panelId: string;
  prompt: string;
  images: ImageAlternative[];
  acceptedAlternative?: number;
  acceptedBy?: string;
}

type Proposal = TextProposal | ImageProposal;

const EDITING_ROLES: ReadonlySet<Role> = new Set(['owner', 'editor']);

function newId(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * The agent in one room: its presence, the room's live proposals, votes and accepts, the room's
 * limits (per-member rate and quota, concurrent generations) and auto mode.
 */
export class RoomAgent {
  private room: LoadedRoom | null = null;
  private presence: AgentPresence | null = null;
  private writer: AgentWriter | null = null;
  private readonly proposals = new Map<string, Proposal>();
  private active = 0;
  private readonly uses = new Map<string, number>();
  private usesLoaded: Promise<void> | null = null;
  private settingsCache: { at: number; room: RoomRecord } | null = null;
  private autoTimer: NodeJS.Timeout | null = null;
  private lastAutoAt = 0;
  private disposed = false;
  private readonly onDocUpdate = (_u: Uint8Array, origin: unknown): void => {
    if (origin === ORIGINS.agent) return;
    this.scheduleAuto();
  };

  constructor(
    readonly roomId: string,
    private readonly deps: RoomAgentDeps,
  ) {}

  get activeGenerations(): number {
    return this.active;
  }

  get isIdle(): boolean {
    return this.active === 0 && this.room === null;
  }

  // ---------- lifecycle ----------

  /** The room's document was loaded: join its awareness and get a Yjs client for writing. */
  attach(room: LoadedRoom): void {
    if (this.room === room) return;
    this.detach();
    this.room = room;
    this.writer = new AgentWriter(room.doc);
    this.presence = new AgentPresence(room.awareness, this.writer.clientID, this.deps.textModel);
    this.presence.set(this.stateNow());
    room.doc.on('update', this.onDocUpdate);
  }

  detach(): void {
    if (this.autoTimer) clearTimeout(this.autoTimer);
    this.autoTimer = null;
    if (this.room) {
      this.room.doc.off('update', this.onDocUpdate);
    }
    this.presence?.dispose();
    this.presence = null;
    this.writer = null;
    this.room = null;
  }

  dispose(): void {
    this.disposed = true;
    this.cancelAll();
    this.detach();
  }

  /** Stops every running generation (the room emptied, or shutdown). */
  cancelAll(): void {
    for (const p of this.proposals.values()) {
      if (p.kind !== 'text') continue;
      for (const a of p.alts) if (!a.done) a.controller.abort();
    }
  }

  // ---------- settings, limits ----------

  /** Settings changed through the REST API: drop the cached room so the next check reads them. */
  settingsChanged(): void {
    this.settingsCache = null;
  }

  private async roomRecord(maxAgeMs = 1000): Promise<RoomRecord> {
    const now = Date.now();
    if (this.settingsCache && now - this.settingsCache.at < maxAgeMs) return this.settingsCache.room;
    const room = await this.deps.ctx.store.rooms.getRoom(this.roomId);
    if (!room) throw new AgentError('not_found', 'room not found');
    this.settingsCache = { at: now, room };
    return room;
  }

  private moderationFor(room: RoomRecord): Moderation | null {
    return room.settings.moderation || room.kind === 'classroom' ? this.deps.moderation : null;
  }

  private async countUses(): Promise<void> {
    if (!this.usesLoaded) {
      this.usesLoaded = (async () => {
        const stored = await this.deps.ctx.store.records.listProposals(this.roomId, 100_000);
        for (const p of stored) this.uses.set(p.requestedBy, (this.uses.get(p.requestedBy) ?? 0) + 1);
      })();
      this.usesLoaded.catch(() => {
        this.usesLoaded = null;
      });
    }
    await this.usesLoaded;
  }

  /** Role, AI mode, quota and rate checks shared by every kind of request. Returns the room. */
  private async admit(actor: Actor, generations: number): Promise<RoomRecord> {
    if (!EDITING_ROLES.has(actor.role)) throw new AgentError('forbidden', 'viewers can watch the AI but not ask it');
    if (!this.deps.engine) throw new AgentError('ai_disabled', 'the AI collaborator is not available on this server');
    const room = await this.roomRecord();
    const s: RoomSettings = room.settings;
    if (s.aiMode === 'off') throw new AgentError('ai_disabled', 'the AI is turned off in this room');
    if (s.aiMode === 'limited' && actor.role !== 'owner') {
      await this.countUses();
      const used = this.uses.get(actor.memberId) ?? 0;
      if (used >= s.aiUsesPerMember) throw new AgentError('quota_exhausted', `you have used all ${s.aiUsesPerMember} AI requests allowed in this room`);
    }
    const key = `${this.roomId}:${actor.memberId}`;
    if (!this.deps.limiter.take(key)) {
      throw new AgentError('rate_limited', `too many AI requests; try again in ${this.deps.limiter.retryAfterSec(key)} s`);
    }
    if (generations > 0 && this.active + generations > this.deps.limits.maxConcurrentPerRoom) {
      throw new AgentError('busy', `the AI is already writing ${this.active} alternatives in this room; wait or stop one`);
    }
    return room;
  }

  private async spendUse(memberId: string): Promise<void> {
    await this.countUses().catch(() => undefined);
    this.uses.set(memberId, (this.uses.get(memberId) ?? 0) + 1);
  }

  // ---------- documents ----------

  /** Runs `fn` with the room's loaded document, loading (and pinning) it for the call if needed. */
  private async withDoc<T>(fn: (room: LoadedRoom) => T | Promise<T>): Promise<T> {
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

  // ---------- presence ----------

  private stateNow(): AgentState {
    let thinking = false;
    for (const p of this.proposals.values()) {
      if (p.kind === 'text') {
        for (const a of p.alts) if (!a.done) {
          if (a.seq > 0) return 'writing';
          thinking = true;
        }
      } else if (p.info.status === 'streaming') thinking = true;
    }
    return thinking ? 'thinking' : 'idle';
  }

  private updatePresence(): void {
    this.presence?.set(this.stateNow());
  }

  // ---------- text proposals ----------

  async request(actor: Actor, req: ProposalRequest, opts: { auto?: boolean; anchor?: Y.RelativePosition } = {}): Promise<ProposalInfo> {
    const anchor = opts.anchor ?? parseAnchor(req.anchor);
    const anchorEnd = req.anchorEnd ? parseAnchor(req.anchorEnd) : null;
    const room = opts.auto ? await this.roomRecord() : await this.admit(actor, req.alternatives);
    if (opts.auto && this.active + req.alternatives > this.deps.limits.maxConcurrentPerRoom) throw new AgentError('busy', 'busy');
    const parts = await this.withDoc((doc) => {
      const at = resolveAnchor(doc.doc, anchor);
      const end = anchorEnd ? resolveAnchor(doc.doc, anchorEnd) : null;
      return this.deps.prompts.build(doc.doc, at, req.mode, req.instruction, end);
    });
    const info: ProposalInfo = {
      id: newId(),
      kind: 'text',
      requestedBy: { memberId: actor.memberId, displayName: actor.displayName },
      mode: req.mode,
      anchor: req.anchor,
      alternatives: req.alternatives,
      firstAlternative: 0,
      model: this.deps.textModel,
      createdAt: new Date().toISOString(),
      status: 'streaming',
    };
    if (req.instruction) info.instruction = req.instruction;
    if (req.anchorEnd) info.anchorEnd = req.anchorEnd;
    const proposal: TextProposal = {
      kind: 'text',
      info,
      anchor,
      anchorEnd,
      prompt: parts.prompt,
      context: parts.before.slice(-600),
      alts: [],
      votes: new Map(),
      rankingSent: false,
    };
    this.proposals.set(info.id, proposal);
    this.prune();
    if (!opts.auto) await this.spendUse(actor.memberId);
    this.deps.emit(this.roomId, 'proposal:started', { ...info });
    this.startAlternatives(proposal, req.alternatives, this.moderationFor(room));
    void this.save(proposal);
    return { ...info };
  }

  private startAlternatives(p: TextProposal, count: number, moderation: Moderation | null): void {
    const service = this.deps.proposals;
    if (!service) throw new AgentError('ai_disabled', 'the AI collaborator is not available on this server');
    const base = randomInt(1, 2 ** 31 - 1 - MAX_ALTERNATIVES);
    for (let k = 0; k < count; k++) {
      const alt: Alternative = { index: p.alts.length, seed: base + k, text: '', seq: 0, done: false, controller: new AbortController() };
      p.alts.push(alt);
      this.active++;
      this.deps.onGenerationsChanged(1);
      const finish = (): void => {
        if (alt.done) return;
        alt.done = true;
        this.active--;
        this.deps.onGenerationsChanged(-1);
        this.afterAlternative(p);
      };
      void service
        .run(p.prompt, this.roomId, alt.seed, alt.controller.signal, moderation, {
          onDelta: (text) => {
            if (alt.done) return;
            alt.text += text;
            const seq = alt.seq++;
            if (seq === 0) this.updatePresence();
            this.deps.emit(this.roomId, 'proposal:delta', { proposalId: p.info.id, alternative: alt.index, seq, text });
          },
          onDone: (done) => {
            if (alt.done) return;
            alt.finishReason = done.finishReason;
            if (done.finishReason === 'filtered') {
              alt.text = '';
              alt.reason = done.reason ?? 'filtered';
            }
            const msg: ProposalDone = { proposalId: p.info.id, alternative: alt.index, text: alt.text, finishReason: done.finishReason };
            if (done.reason) msg.reason = done.reason;
            this.deps.emit(this.roomId, 'proposal:done', msg);
            finish();
          },
          onFailed: (err) => {
            if (alt.done) return;
            alt.failed = true;
            this.deps.emit(this.roomId, 'proposal:failed', { proposalId: p.info.id, alternative: alt.index, code: err.code, message: err.message });
            finish();
          },
        })
        .catch((err: unknown) => {
          const e = mapError(err);
          if (!alt.done) {
            alt.failed = true;
            this.deps.emit(this.roomId, 'proposal:failed', { proposalId: p.info.id, alternative: alt.index, code: e.code, message: e.message });
            finish();
          }
        });
    }
    this.updatePresence();
  }

  private afterAlternative(p: TextProposal): void {
    this.updatePresence();
    if (p.alts.some((a) => !a.done)) return;
    if (p.info.status === 'streaming') {
      const anyText = p.alts.some((a) => a.text.length > 0);
      const allFailed = p.alts.every((a) => a.failed);
      p.info.status = allFailed ? 'failed' : p.alts.every((a) => a.finishReason === 'stopped' || a.failed) && !anyText ? 'stopped' : 'ready';
    }
    void this.save(p);
    void this.sendRankings(p);
  }

  /** Sends each connected member the order in which to show this proposal's alternatives. */
  private async sendRankings(p: TextProposal): Promise<void> {
    try {
      const members = await this.deps.members(this.roomId);
      const texts = p.alts.map((a) => a.text);
      const byMember = new Map<string, number[]>();
      for (const m of members) {
        let order = byMember.get(m.memberId);
        if (!order) {
          order = await this.deps.recommendations.rank(this.roomId, m.memberId, texts);
          byMember.set(m.memberId, order);
        }
        m.ranking({ proposalId: p.info.id, order });
      }
      p.rankingSent = true;
    } catch (err) {
      this.deps.ctx.logger.warn({ err, roomId: this.roomId }, 'ranking failed');
    }
  }

  private get(proposalId: string): Proposal {
    const p = this.proposals.get(proposalId);
    if (!p) throw new AgentError('not_found', `no live proposal ${proposalId} in this room`);
    return p;
  }

  private text(proposalId: string): TextProposal {
    const p = this.get(proposalId);
    if (p.kind !== 'text') throw new AgentError('invalid_payload', 'this is an image proposal; use image:accept');
    return p;
  }

  async vote(actor: Actor, proposalId: string, alternative: number, value: 1 | -1 | 0): Promise<VoteTally> {
    if (!EDITING_ROLES.has(actor.role)) throw new AgentError('forbidden', 'viewers cannot vote');
    const p = this.text(proposalId);
    const alt = p.alts[alternative];
    if (!alt) throw new AgentError('not_found', `proposal has no alternative ${alternative}`);
    const mine = p.votes.get(actor.memberId) ?? new Map<number, 1 | -1>();
    if (value === 0) mine.delete(alternative);
    else mine.set(alternative, value);
    p.votes.set(actor.memberId, mine);
    const tally = this.tally(p, alternative);
    this.deps.emit(this.roomId, 'proposal:voted', tally);
    if (value !== 0) await this.deps.recommendations.record(this.roomId, actor.memberId, proposalId, alternative, value === 1 ? 'vote-up' : 'vote-down', alt.text);
    return tally;
  }

  private tally(p: TextProposal, alternative: number): VoteTally {
    let up = 0;
    let down = 0;
    for (const m of p.votes.values()) {
      const v = m.get(alternative);
      if (v === 1) up++;
      else if (v === -1) down++;
    }
    return { proposalId: p.info.id, alternative, up, down };
  }

  async accept(actor: Actor, proposalId: string, alternative: number): Promise<void> {
    if (!EDITING_ROLES.has(actor.role)) throw new AgentError('forbidden', 'only editors and owners can accept AI text');
    const p = this.text(proposalId);
    const alt = p.alts[alternative];
    if (!alt) throw new AgentError('not_found', `proposal has no alternative ${alternative}`);
    if (p.acceptedAlternative !== undefined) throw new AgentError('conflict', 'this proposal was already accepted');
    if (p.info.status === 'rejected') throw new AgentError('conflict', 'this proposal was rejected');
    if (!alt.done) throw new AgentError('conflict', 'this alternative is still being written; wait for it or stop it');
    if (alt.finishReason === 'filtered') throw new AgentError('conflict', 'this alternative was dropped by the moderation filter');
    if (!alt.text.trim()) throw new AgentError('conflict', 'this alternative is empty');
    const inserted = await this.withDoc((room) =>
      this.writeAsAgent(room, (doc) => {
        const at = resolveAnchor(doc, p.anchor);
        const end = p.anchorEnd ? resolveAnchor(doc, p.anchorEnd) : null;
        return insertAiText(at, alt.text, { proposalId, model: p.info.model, acceptedBy: actor.memberId }, p.info.mode as ProposalMode, end);
      }),
    );
    p.acceptedAlternative = alternative;
    p.acceptedBy = actor.memberId;
    p.insertedText = inserted;
    p.info.status = 'accepted';
    this.deps.emit(this.roomId, 'proposal:accepted', { proposalId, alternative, acceptedBy: actor.memberId });
    await this.save(p);
    await this.deps.recommendations.record(this.roomId, actor.memberId, proposalId, alternative, 'accept', alt.text);
  }

  async reject(actor: Actor, proposalId: string, alternative?: number): Promise<void> {
    if (!EDITING_ROLES.has(actor.role)) throw new AgentError('forbidden', 'viewers cannot reject proposals');
    const p = this.get(proposalId);
    if (p.kind === 'image') {
      if (alternative === undefined) p.info.status = 'rejected';
      this.deps.emit(this.roomId, 'proposal:rejected', alternative === undefined ? { proposalId, rejectedBy: actor.memberId } : { proposalId, alternative, rejectedBy: actor.memberId });
      await this.save(p);
      return;
    }
    if (alternative !== undefined && !p.alts[alternative]) throw new AgentError('not_found', `proposal has no alternative ${alternative}`);
    const targets = alternative === undefined ? p.alts : [p.alts[alternative]!];
    if (alternative === undefined) {
      if (p.acceptedAlternative !== undefined) throw new AgentError('conflict', 'this proposal was already accepted');
      for (const a of p.alts) if (!a.done) a.controller.abort();
      p.info.status = 'rejected';
    }
    this.deps.emit(this.roomId, 'proposal:rejected', alternative === undefined ? { proposalId, rejectedBy: actor.memberId } : { proposalId, alternative, rejectedBy: actor.memberId });
    await this.save(p);
    for (const a of targets) {
      if (a.text.trim()) await this.deps.recommendations.record(this.roomId, actor.memberId, proposalId, a.index, 'reject', a.text);
    }
  }

  stop(actor: Actor, proposalId: string): void {
    const p = this.get(proposalId);
    if (!EDITING_ROLES.has(actor.role) && p.info.requestedBy.memberId !== actor.memberId) throw new AgentError('forbidden', 'viewers cannot stop proposals');
    if (p.kind !== 'text') throw new AgentError('conflict', 'image proposals cannot be stopped');
    const running = p.alts.filter((a) => !a.done);
    if (running.length === 0) throw new AgentError('conflict', 'this proposal is not being written any more');
    for (const a of running) a.controller.abort();
    p.info.status = 'stopped';
    this.deps.emit(this.roomId, 'proposal:stopped', { proposalId, stoppedBy: actor.memberId });
  }

  async regenerate(actor: Actor, proposalId: string, count?: number): Promise<ProposalInfo> {
    const p = this.text(proposalId);
    if (p.acceptedAlternative !== undefined) throw new AgentError('conflict', 'this proposal was already accepted');
    const n = count ?? Math.min(p.info.alternatives, 4);
    if (p.alts.length + n > MAX_ALTERNATIVES) throw new AgentError('conflict', `a proposal holds at most ${MAX_ALTERNATIVES} alternatives`);
    const room = await this.admit(actor, n);
    await this.spendUse(actor.memberId);
    const first = p.alts.length;
    p.info.alternatives = first + n;
    p.info.firstAlternative = first;
    p.info.status = 'streaming';
    p.rankingSent = false;
    this.deps.emit(this.roomId, 'proposal:started', { ...p.info });
    this.startAlternatives(p, n, this.moderationFor(room));
    void this.save(p);
    return { ...p.info };
  }

  async snapshots(memberId: string): Promise<ProposalSnapshot[]> {
    const out: ProposalSnapshot[] = [];
    for (const p of this.proposals.values()) {
      if (p.kind !== 'text') continue;
      const snap: ProposalSnapshot = {
        proposal: { ...p.info },
        alternatives: p.alts.map((a) => {
          const e: ProposalSnapshot['alternatives'][number] = { alternative: a.index, text: a.text, done: a.done };
          if (a.finishReason) e.finishReason = a.finishReason;
          if (a.reason) e.reason = a.reason;
          return e;
        }),
        tallies: p.alts.map((a) => this.tally(p, a.index)),
      };
      if (p.alts.every((a) => a.done)) snap.order = await this.deps.recommendations.rank(this.roomId, memberId, p.alts.map((a) => a.text));
      out.push(snap);
    }
    return out;
  }

  // ---------- images ----------

  async requestImages(actor: Actor, panelId: string, prompt: string | undefined, count: number): Promise<ProposalInfo> {
    const engine = this.deps.engine;
    await this.admit(actor, 0);
    if (!engine) throw new AgentError('ai_disabled', 'the AI collaborator is not available on this server');
    const caption = await this.withDoc((room) => {
      const panel = panelsOf(room.doc).toArray().find((m) => m.get('id') === panelId);
      if (!panel) throw new AgentError('not_found', `no panel ${panelId} in this storyboard`);
      return String(panel.get('caption') ?? '');
    });
    const text = (prompt ?? caption).trim();
    if (!text) throw new AgentError('invalid_payload', 'the panel has no caption; send a prompt');
    const info: ProposalInfo = {
      id: newId(),
      kind: 'image',
      requestedBy: { memberId: actor.memberId, displayName: actor.displayName },
      mode: 'image',
      panelId,
      alternatives: count,
      firstAlternative: 0,
      model: this.deps.imageModel,
      createdAt: new Date().toISOString(),
      status: 'streaming',
    };
    if (prompt) info.instruction = prompt;
    const p: ImageProposal = { kind: 'image', info, panelId, prompt: text, images: [] };
    this.proposals.set(info.id, p);
    this.prune();
    await this.spendUse(actor.memberId);
    this.deps.emit(this.roomId, 'proposal:started', { ...info });
    this.updatePresence();
    void this.generateImages(engine, p, count);
    return { ...info };
  }

  private async generateImages(engine: EngineLike, p: ImageProposal, count: number): Promise<void> {
    try {
      const base = randomInt(1, 2 ** 31 - 1 - count);
      const images = await Promise.all(Array.from({ length: count }, (_, k) => engine.generateImage({ prompt: p.prompt, seed: base + k })));
      const createdAt = new Date().toISOString();
      const alts: ImageAlternative[] = [];
      for (const [k, data] of images.entries()) {
        const imageId = newId();
        await this.deps.ctx.store.records.putImage({ roomId: this.roomId, id: imageId, mime: 'image/png', data, createdAt, proposalId: p.info.id });
        alts.push({ alternative: k, imageId, url: imageUrl(this.roomId, imageId) });
      }
      p.images = alts;
      p.info.status = 'ready';
      this.deps.emit(this.roomId, 'image:proposed', { proposalId: p.info.id, panelId: p.panelId, images: alts });
    } catch (err) {
      const e = mapError(err);
      p.info.status = 'failed';
      this.deps.ctx.logger.warn({ err, roomId: this.roomId }, 'image generation failed');
      this.deps.emit(this.roomId, 'proposal:failed', { proposalId: p.info.id, code: e.code, message: e.code === 'internal' ? 'image generation failed' : e.message });
    } finally {
      this.updatePresence();
      await this.save(p);
    }
  }

  async acceptImage(actor: Actor, proposalId: string, alternative: number): Promise<void> {
    if (!EDITING_ROLES.has(actor.role)) throw new AgentError('forbidden', 'only editors and owners can accept images');
    const p = this.get(proposalId);
    if (p.kind !== 'image') throw new AgentError('invalid_payload', 'this is a text proposal; use proposal:accept');
    if (p.info.status === 'streaming') throw new AgentError('conflict', 'the images are still being drawn');
    const img = p.images[alternative];
    if (!img) throw new AgentError('not_found', `proposal has no image ${alternative}`);
    await this.withDoc((room) =>
      this.writeAsAgent(room, (doc) => {
        const panel = panelsOf(doc).toArray().find((m) => m.get('id') === p.panelId);
        if (!panel) throw new AgentError('not_found', 'the panel was deleted');
        panel.set('imageId', img.imageId);
      }),
    );
    p.acceptedAlternative = alternative;
    p.acceptedBy = actor.memberId;
    p.info.status = 'accepted';
    this.deps.emit(this.roomId, 'image:accepted', { proposalId, panelId: p.panelId, imageId: img.imageId, acceptedBy: actor.memberId });
    await this.save(p);
  }

  // ---------- recommendations ----------

  /** A member hides a suggestion; recorded as feedback, so viewers (who only read) may not. */
  async dismiss(actor: Actor, suggestionId: string): Promise<void> {
    if (!EDITING_ROLES.has(actor.role)) throw new AgentError('forbidden', 'viewers cannot dismiss suggestions');
    await this.deps.recommendations.record(this.roomId, actor.memberId, suggestionId, 0, 'dismiss', this.deps.recommendations.suggestionText(suggestionId));
  }

  async next(actor: Actor, anchor: string | undefined, library: LibraryPassage[]): Promise<Suggestion[]> {
    const { context, own } = await this.withDoc((room) => {
      const at = anchor ? resolveAnchorSafe(room.doc, anchor) : null;
      const lin = linearizeStory(room.doc, at ?? undefined);
      const offset = lin.offset ?? lin.text.length;
      return { context: lin.text.slice(Math.max(0, offset - 800), offset), own: lin.blocks };
    });
    const roomName = (await this.roomRecord(5000)).name;
    const passages: LibraryPassage[] = [...own.map((text) => ({ roomId: this.roomId, roomName, text })), ...library];
    return this.deps.recommendations.next(this.roomId, actor.memberId, context, passages);
  }

  // ---------- auto mode ----------

  private scheduleAuto(): void {
    if (this.disposed || !this.room) return;
    const cached = this.settingsCache?.room.settings;
    if (!cached) {
      void this.roomRecord().then(() => this.scheduleAuto()).catch(() => undefined);
      return;
    }
    if (!cached.autoMode || cached.aiMode === 'off' || !this.deps.engine) return;
    if (this.autoTimer) clearTimeout(this.autoTimer);
    this.autoTimer = setTimeout(() => void this.autoOffer(), cached.autoPauseSec * 1000);
    this.autoTimer.unref?.();
    // Refresh settings in the background so a PATCH is seen within a few seconds.
    if (Date.now() - (this.settingsCache?.at ?? 0) > 5000) void this.roomRecord().catch(() => undefined);
  }

  private async autoOffer(): Promise<void> {
    this.autoTimer = null;
    try {
      const room = await this.roomRecord(0);
      const s = room.settings;
      if (!s.autoMode || s.aiMode === 'off' || !this.room || this.active > 0) return;
      if (Date.now() - this.lastAutoAt < Math.max(this.deps.limits.autoMinIntervalSec, s.autoPauseSec) * 1000) return;
      const members = await this.deps.members(this.roomId);
      if (members.length === 0) return;
      const doc = this.room.doc;
      if (linearizeStory(doc).text.trim().length === 0) return;
      this.lastAutoAt = Date.now();
      const anchor = endOfStoryAnchor(doc);
      await this.request(
        { memberId: AGENT_MEMBER_ID, displayName: `${AGENT_DISPLAY_NAME} (auto)`, role: 'editor' },
        { anchor: 'auto', mode: 'continue', alternatives: 1 },
        { auto: true, anchor },
      );
    } catch (err) {
      this.deps.ctx.logger.debug({ err, roomId: this.roomId }, 'auto offer skipped');
    }
  }

  // ---------- storage ----------

  private async save(p: Proposal): Promise<void> {
    const record: ProposalRecord = {
      roomId: this.roomId,
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
    try {
      await this.deps.ctx.store.records.saveProposal(record);
    } catch (err) {
      this.deps.ctx.logger.error({ err, roomId: this.roomId, proposalId: p.info.id }, 'saving proposal failed');
    }
  }

  private prune(): void {
    if (this.proposals.size <= this.deps.limits.maxProposalsKept) return;
    for (const [id, p] of this.proposals) {
      if (this.proposals.size <= this.deps.limits.maxProposalsKept) break;
      const live = p.kind === 'text' ? p.alts.some((a) => !a.done) : p.info.status === 'streaming';
      if (!live) this.proposals.delete(id);
    }
  }
}

function resolveAnchorSafe(doc: Y.Doc, encoded: string) {
  try {
    return resolveAnchor(doc, parseAnchor(encoded));
  } catch {
    return null;
  }
}
