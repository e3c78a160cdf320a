import { randomInt } from 'node:crypto';
import * as Y from 'yjs';
import {
  MAX_ALTERNATIVES,
  type ProposalDone,
  type ProposalInfo,
  type ProposalMode,
  type ProposalRequest,
  type ProposalSnapshot,
  type RevertResult,
  type VoteTally,
} from '@ensemble/shared';
import type { RoomRecord } from '../storage/store';
import type { Admission } from './admission';
import { parseAnchor, insertAiText, resolveAnchor } from './anchor';
import { AgentError } from './errors';
import type { LiveProposals } from './live-proposals';
import type { Moderation } from './moderation';
import { mapError } from './proposal-service';
import type { AgentRecords } from './records';
import { captureReplaced, restoreReplaced, revertAiRun } from './revert';
import { newId } from '../ids';
import { type Actor, type Alternative, type RoomScope, type TextProposal } from './types';

/**
 * A room's text proposals: streams each alternative through the ProposalService, votes, accept
 * (the text lands as the agent's, attributed), reject, stop and regenerate, and the snapshots a
 * late joiner gets. Counts the alternatives generating right now.
 */
export class TextProposals {
  private active = 0;

  constructor(
    private readonly scope: RoomScope,
    private readonly live: LiveProposals,
    private readonly admission: Admission,
    private readonly records: AgentRecords,
  ) {}

  get activeGenerations(): number {
    return this.active;
  }

  async request(actor: Actor, req: ProposalRequest, opts: { auto?: boolean; anchor?: Y.RelativePosition } = {}): Promise<ProposalInfo> {
    const { deps } = this.scope;
    const anchor = opts.anchor ?? parseAnchor(req.anchor);
    const anchorEnd = req.anchorEnd ? parseAnchor(req.anchorEnd) : null;
    const room = opts.auto ? await this.scope.roomRecord() : await this.admission.admit(actor, req.alternatives, this.active);
    if (opts.auto) this.admission.admitAuto(req.alternatives, this.active);
    this.checkInstruction(req.instruction, room);
    const moderation = this.moderationFor(room);
    const parts = await this.scope.withDoc((doc) => {
      const at = resolveAnchor(doc.doc, anchor);
      const end = anchorEnd ? resolveAnchor(doc.doc, anchorEnd) : null;
      return deps.prompts.build(doc.doc, at, req.mode, req.instruction, end, { kind: room.kind, moderation: room.settings.moderation }, moderation ? (s) => moderation.mask(s) : undefined);
    });
    const info: ProposalInfo = {
      id: newId(),
      kind: 'text',
      requestedBy: { memberId: actor.memberId, displayName: actor.displayName },
      mode: req.mode,
      anchor: req.anchor,
      alternatives: req.alternatives,
      firstAlternative: 0,
      model: deps.textModel,
      createdAt: new Date().toISOString(),
      status: 'streaming',
    };
    if (req.instruction) info.instruction = req.instruction;
    if (req.anchorEnd) info.anchorEnd = req.anchorEnd;
    const proposal: TextProposal = { kind: 'text', info, anchor, anchorEnd, prompt: parts.prompt, ...(parts.messages ? { messages: parts.messages } : {}), ...(parts.clean ? { clean: parts.clean } : {}), context: parts.before.slice(-600), alts: [], votes: new Map() };
    this.live.add(proposal);
    if (!opts.auto) await this.admission.spend(actor.memberId);
    this.scope.emit('proposal:started', { ...info });
    this.startAlternatives(proposal, req.alternatives, moderation);
    void this.records.save(proposal);
    return { ...info };
  }

  async regenerate(actor: Actor, proposalId: string, count?: number): Promise<ProposalInfo> {
    const p = this.live.text(proposalId);
    if (p.acceptedAlternative !== undefined) throw new AgentError('conflict', 'this proposal was already accepted');
    const n = count ?? Math.min(p.info.alternatives, 4);
    if (p.alts.length + n > MAX_ALTERNATIVES) throw new AgentError('conflict', `a proposal holds at most ${MAX_ALTERNATIVES} alternatives`);
    const room = await this.admission.admit(actor, n, this.active);
    await this.admission.spend(actor.memberId);
    const first = p.alts.length;
    p.info.alternatives = first + n;
    p.info.firstAlternative = first;
    p.info.status = 'streaming';
    this.scope.emit('proposal:started', { ...p.info });
    this.startAlternatives(p, n, this.moderationFor(room));
    void this.records.save(p);
    return { ...p.info };
  }

  private moderationFor(room: RoomRecord): Moderation | null {
    return room.settings.moderation || room.kind === 'classroom' ? this.scope.deps.moderation.withWords(room.settings.blockedWords) : null;
  }

  /**
   * An instruction is shown on every member's card and goes into the prompt: in a moderated room
   * one with a listed word is refused (with the word, so the member can rephrase), before any quota is spent.
   */
  private checkInstruction(instruction: string | undefined, room: RoomRecord): void {
    const moderation = instruction ? this.moderationFor(room) : null;
    const hit = moderation?.matches(instruction!)[0];
    if (hit) throw new AgentError('invalid_payload', `the instruction contains "${hit.word}", a word this room does not allow; rephrase it`);
  }

  private startAlternatives(p: TextProposal, count: number, moderation: Moderation | null): void {
    const { deps, roomId } = this.scope;
    const service = deps.proposals;
    if (!service) throw new AgentError('ai_disabled', 'the AI collaborator is not available on this server');
    const base = randomInt(1, 2 ** 31 - 1 - MAX_ALTERNATIVES);
    for (let k = 0; k < count; k++) {
      const alt: Alternative = { index: p.alts.length, seed: base + k, text: '', seq: 0, done: false, controller: new AbortController() };
      p.alts.push(alt);
      this.active++;
      deps.onGenerationsChanged(1);
      const fail = (code: AgentError['code'], message: string): void => {
        alt.failed = true;
        this.scope.emit('proposal:failed', { proposalId: p.info.id, alternative: alt.index, code, message });
        finish();
      };
      const finish = (): void => {
        if (alt.done) return;
        alt.done = true;
        this.active--;
        deps.onGenerationsChanged(-1);
        this.afterAlternative(p);
      };
      void service
        .run({ prompt: p.prompt, ...(p.messages ? { messages: p.messages } : {}), ...(p.clean ? { clean: p.clean } : {}) }, roomId, alt.seed, alt.controller.signal, moderation, {
          onDelta: (text) => {
            if (alt.done) return;
            alt.text += text;
            const seq = alt.seq++;
            if (seq === 0) this.scope.updatePresence();
            this.scope.emit('proposal:delta', { proposalId: p.info.id, alternative: alt.index, seq, text });
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
            this.scope.emit('proposal:done', msg);
            finish();
          },
          onFailed: (err) => {
            if (!alt.done) fail(err.code, err.message);
          },
        })
        .catch((err: unknown) => {
          const e = mapError(err);
          if (!alt.done) fail(e.code, e.message);
        });
    }
    this.scope.updatePresence();
  }

  private afterAlternative(p: TextProposal): void {
    this.scope.updatePresence();
    if (p.alts.some((a) => !a.done)) return;
    if (p.info.status === 'streaming') {
      const anyText = p.alts.some((a) => a.text.length > 0);
      const allFailed = p.alts.every((a) => a.failed);
      p.info.status = allFailed ? 'failed' : p.alts.every((a) => a.finishReason === 'stopped' || a.failed) && !anyText ? 'stopped' : 'ready';
    }
    void this.records.save(p);
    void this.sendRankings(p);
  }

  /** Sends each connected member the order in which to show this proposal's alternatives. */
  private async sendRankings(p: TextProposal): Promise<void> {
    const { deps, roomId } = this.scope;
    try {
      const members = await deps.members(roomId);
      const texts = p.alts.map((a) => a.text);
      const byMember = new Map<string, number[]>();
      for (const m of members) {
        let order = byMember.get(m.memberId);
        if (!order) {
          order = await deps.recommendations.rank(roomId, m.memberId, texts);
          byMember.set(m.memberId, order);
        }
        m.ranking({ proposalId: p.info.id, order });
      }
    } catch (err) {
      deps.ctx.logger.warn({ err, roomId }, 'ranking failed');
    }
  }

  async vote(actor: Actor, proposalId: string, alternative: number, value: 1 | -1 | 0): Promise<VoteTally> {
    this.admission.requireEditor(actor, 'viewers cannot vote');
    const p = this.live.text(proposalId);
    const alt = p.alts[alternative];
    if (!alt) throw new AgentError('not_found', `proposal has no alternative ${alternative}`);
    const mine = p.votes.get(actor.memberId) ?? new Map<number, 1 | -1>();
    if (value === 0) mine.delete(alternative);
    else mine.set(alternative, value);
    p.votes.set(actor.memberId, mine);
    const tally = tallyOf(p, alternative);
    this.scope.emit('proposal:voted', tally);
    if (value !== 0) await this.records.feedback(actor.memberId, proposalId, alternative, value === 1 ? 'vote-up' : 'vote-down', alt.text);
    return tally;
  }

  async accept(actor: Actor, proposalId: string, alternative: number): Promise<void> {
    this.admission.requireEditor(actor, 'only editors and owners can accept AI text');
    const p = this.live.text(proposalId);
    const alt = p.alts[alternative];
    if (!alt) throw new AgentError('not_found', `proposal has no alternative ${alternative}`);
    if (p.acceptedAlternative !== undefined) throw new AgentError('conflict', 'this proposal was already accepted');
    if (p.info.status === 'rejected') throw new AgentError('conflict', 'this proposal was rejected');
    if (!alt.done) throw new AgentError('conflict', 'this alternative is still being written; wait for it or stop it');
    if (alt.finishReason === 'filtered') throw new AgentError('conflict', 'this alternative was dropped by the moderation filter');
    if (!alt.text.trim()) throw new AgentError('conflict', 'this alternative is empty');
    await this.admission.requireAiOn('AI text');
    const inserted = await this.scope.withDoc((room) =>
      this.scope.writeAsAgent(room, (doc) => {
        const at = resolveAnchor(doc, p.anchor);
        const end = p.anchorEnd ? resolveAnchor(doc, p.anchorEnd) : null;
        const clock = Y.getState(doc.store, doc.clientID);
        // What a rewrite replaces, to put back if the accept is undone.
        const replaced = p.info.mode === 'rewrite' && end && end.type === at.type && at.type instanceof Y.XmlText && end.index > at.index ? captureReplaced(doc, at.type, at.index, end.index) : [];
        const text = insertAiText(at, alt.text, { proposalId, model: p.info.model, acceptedBy: actor.memberId }, p.info.mode as ProposalMode, end);
        return { text, replaced, range: { client: doc.clientID, clock, length: Y.getState(doc.store, doc.clientID) - clock } };
      }),
    );
    p.acceptedAlternative = alternative;
    p.acceptedBy = actor.memberId;
    p.insertedText = inserted.text;
    p.inserted = inserted.range;
    if (inserted.replaced.length) p.replaced = inserted.replaced;
    p.info.status = 'accepted';
    this.scope.emit('proposal:accepted', { proposalId, alternative, acceptedBy: actor.memberId });
    await this.records.save(p);
    await this.records.feedback(actor.memberId, proposalId, alternative, 'accept', alt.text);
  }

  /**
   * Takes an accepted proposal's AI text back out of the story, for everyone, as the agent's own
   * edit (see revertAiRun for what goes and what stays), and records who did it. Any editor may,
   * at any time — also while the room's AI is off (it removes AI text, it adds none). A proposal no
   * longer live in memory is reverted from its stored record. Reverting twice changes nothing.
   */
  async revert(actor: Actor, proposalId: string): Promise<RevertResult> {
    this.admission.requireEditor(actor, 'only editors and owners can undo accepted AI text');
    const live = this.live.has(proposalId) ? this.live.get(proposalId) : null;
    if (live && live.kind !== 'text') throw new AgentError('conflict', 'image proposals cannot be reverted');
    const stored = live ? null : await this.records.proposal(proposalId);
    if (!live && (!stored || stored.kind !== 'text')) throw new AgentError('not_found', 'no such text proposal in this room');
    const state = live ?? stored!;
    if (state.revertedBy) return { removed: 0, keptHuman: 0, restored: 0, already: true };
    const accepted = live ? live.acceptedAlternative !== undefined : stored!.acceptedAlternative !== undefined;
    if (!accepted) throw new AgentError('conflict', 'only accepted proposals can be reverted');
    const outcome = await this.scope.withDoc((room) => {
      const { at, ...out } = this.scope.writeAsAgent(room, (doc) => revertAiRun(doc, proposalId, state.inserted));
      const restored = state.replaced?.length && at ? restoreReplaced(room.doc, at, state.replaced, (put) => this.scope.writeAsAgent(room, put)) : 0;
      return { ...out, restored };
    });
    const revertedAt = new Date().toISOString();
    if (live) {
      live.revertedBy = actor.memberId;
      live.revertedAt = revertedAt;
      live.info.status = 'reverted';
      live.info.revertedBy = actor.memberId;
      await this.records.save(live);
    } else {
      await this.records.saveRecord({ ...stored!, status: 'reverted', revertedBy: actor.memberId, revertedAt });
    }
    this.scope.emit('proposal:reverted', { proposalId, revertedBy: actor.memberId, ...outcome });
    return { ...outcome, already: false };
  }

  /** Rejects one alternative, or (without `alternative`) the whole proposal. The caller checked the role. */
  async reject(actor: Actor, p: TextProposal, alternative?: number): Promise<void> {
    const proposalId = p.info.id;
    if (alternative !== undefined && !p.alts[alternative]) throw new AgentError('not_found', `proposal has no alternative ${alternative}`);
    const targets = alternative === undefined ? p.alts : [p.alts[alternative]!];
    if (alternative === undefined) {
      if (p.acceptedAlternative !== undefined) throw new AgentError('conflict', 'this proposal was already accepted');
      for (const a of p.alts) if (!a.done) a.controller.abort();
      p.info.status = 'rejected';
    }
    this.scope.emit('proposal:rejected', alternative === undefined ? { proposalId, rejectedBy: actor.memberId } : { proposalId, alternative, rejectedBy: actor.memberId });
    await this.records.save(p);
    for (const a of targets) {
      if (a.text.trim()) await this.records.feedback(actor.memberId, proposalId, a.index, 'reject', a.text);
    }
  }

  stop(actor: Actor, proposalId: string): void {
    const p = this.live.get(proposalId);
    if (p.info.requestedBy.memberId !== actor.memberId) this.admission.requireEditor(actor, 'viewers cannot stop proposals');
    if (p.kind !== 'text') throw new AgentError('conflict', 'image proposals cannot be stopped');
    const running = p.alts.filter((a) => !a.done);
    if (running.length === 0) throw new AgentError('conflict', 'this proposal is not being written any more');
    for (const a of running) a.controller.abort();
    p.info.status = 'stopped';
    this.scope.emit('proposal:stopped', { proposalId, stoppedBy: actor.memberId });
  }

  async snapshots(memberId: string): Promise<ProposalSnapshot[]> {
    const { deps, roomId } = this.scope;
    const out: ProposalSnapshot[] = [];
    // A reconnect gets the newest cards (every unfinished one among them), not the room's whole history.
    const newest = [...this.live.values()]
      .filter((p) => p.kind === 'text')
      .sort((a, b) => b.info.createdAt.localeCompare(a.info.createdAt))
      .filter((p, i) => i < SNAPSHOT_LIMIT || !p.alts.every((a) => a.done));
    for (const p of newest) {
      const snap: ProposalSnapshot = {
        proposal: { ...p.info },
        alternatives: p.alts.map((a) => {
          const e: ProposalSnapshot['alternatives'][number] = { alternative: a.index, text: a.text, done: a.done };
          if (a.finishReason) e.finishReason = a.finishReason;
          if (a.reason) e.reason = a.reason;
          return e;
        }),
        tallies: p.alts.map((a) => tallyOf(p, a.index)),
      };
      if (p.alts.every((a) => a.done)) snap.order = await deps.recommendations.rank(roomId, memberId, p.alts.map((a) => a.text));
      out.push(snap);
    }
    return out;
  }
}

/** How many proposals a `proposal:list` (join, reconnect) sends at most, plus any still streaming. */
export const SNAPSHOT_LIMIT = 20;

/** Up and down votes on one alternative. */
export function tallyOf(p: TextProposal, alternative: number): VoteTally {
  let up = 0;
  let down = 0;
  for (const m of p.votes.values()) {
    const v = m.get(alternative);
    if (v === 1) up++;
    else if (v === -1) down++;
  }
  return { proposalId: p.info.id, alternative, up, down };
}
