import type { Suggestion } from '@ensemble/shared';
import type { AiRecordStore, FeedbackAction } from '../storage/store';
import { CRAFT_MOVES, craftMove } from './catalogue';
import { CachedEmbedder, dot, textKey, type Embedder } from './embedder';
import { FeedbackQuota } from './feedback-quota';
import { mmr } from './mmr';
import { featureVector, labelOf, orderByScore, PreferenceModel, type Example } from './preference';

export interface LibraryPassage {
  roomId: string;
  roomName: string;
  text: string;
}

/**
 * Feedback, personal ranking and "what next" suggestions. Members are per room (member ids are
 * minted at join), so a member's history is their feedback in that room.
 */
export class RecommendationService {
  private readonly embedder: CachedEmbedder;
  private readonly models = new Map<string, { version: number; model: PreferenceModel }>();
  private readonly feedbackCount = new Map<string, number>();
  private readonly stored: FeedbackQuota;

  constructor(
    private readonly store: Pick<AiRecordStore, 'addFeedback' | 'listFeedback'>,
    embedder: Embedder,
    options: { maxFeedbackPerMember?: number } = {},
  ) {
    this.embedder = new CachedEmbedder(embedder);
    this.stored = new FeedbackQuota(store, options.maxFeedbackPerMember ?? 500);
  }

  /**
   * Stores one piece of feedback, unless the member already has `maxFeedbackPerMember` rows in the
   * room: the action itself (a vote, a dismissal) still counts, it is just not learnt from.
   */
  async record(roomId: string, memberId: string, proposalId: string, alternative: number, action: FeedbackAction, text: string): Promise<void> {
    if (!(await this.stored.reserve(roomId, memberId))) return;
    try {
      await this.store.addFeedback({ roomId, memberId, proposalId, alternative, action, text, at: new Date().toISOString() });
    } catch (err) {
      this.stored.unreserve(roomId, memberId);
      throw err;
    }
    const key = `${roomId}\u0000${memberId}`;
    this.feedbackCount.set(key, (this.feedbackCount.get(key) ?? 0) + 1);
  }

  /** The member's preference model, refitted when their feedback changed. */
  async model(roomId: string, memberId: string): Promise<PreferenceModel> {
    const key = `${roomId}\u0000${memberId}`;
    const version = this.feedbackCount.get(key) ?? 0;
    const cached = this.models.get(key);
    if (cached && cached.version === version && version > 0) return cached.model;
    const history = (await this.store.listFeedback(roomId, memberId)).filter((f) => !f.proposalId.startsWith('move:') && !f.proposalId.startsWith('passage:'));
    const labelled = history.map((f) => ({ f, l: labelOf(f.action) })).filter((e) => e.l !== null && e.f.text.trim().length > 0);
    // A member's latest verdict on an alternative wins (a vote-up later turned into reject, say).
    const latest = new Map<string, (typeof labelled)[number]>();
    for (const e of labelled) latest.set(`${e.f.proposalId}:${e.f.alternative}:${e.f.action.startsWith('vote') ? 'vote' : 'final'}`, e);
    const items = [...latest.values()];
    const vecs = await this.embedder.embed(items.map((e) => e.f.text));
    const examples: Example[] = items.map((e, i) => ({ x: featureVector(vecs[i]!, e.f.text), y: e.l!.y, w: e.l!.w }));
    const model = new PreferenceModel(examples);
    this.feedbackCount.set(key, version);
    this.models.set(key, { version, model });
    return model;
  }

  /** Order in which to show `texts` to the member; identity when they have no history. */
  async rank(roomId: string, memberId: string, texts: string[]): Promise<number[]> {
    const model = await this.model(roomId, memberId);
    if (model.empty) return texts.map((_, i) => i);
    const vecs = await this.embedder.embed(texts);
    return orderByScore(texts.map((t, i) => (t.trim() ? model.score(featureVector(vecs[i]!, t)) : -Infinity)));
  }

  /**
   * "What next": craft moves ranked by similarity of their description to the context, the
   * member's dismissals (and their preference model), diversified with MMR; then related
   * passages from `library`, by similarity to the context, also diversified.
   */
  async next(roomId: string, memberId: string, context: string, library: LibraryPassage[], opts: { moves?: number; passages?: number } = {}): Promise<Suggestion[]> {
    const nMoves = opts.moves ?? 5;
    const nPassages = opts.passages ?? 3;
    const feedback = await this.store.listFeedback(roomId, memberId);
    const dismissed = new Map<string, number>();
    for (const f of feedback) if (f.action === 'dismiss') dismissed.set(f.proposalId, (dismissed.get(f.proposalId) ?? 0) + 1);
    const ctx = context.trim();
    const [ctxVec] = ctx ? await this.embedder.embed([ctx.slice(-1000)]) : [undefined];
    const moveVecs = await this.embedder.embed(CRAFT_MOVES.map((m) => `${m.title}. ${m.description}`));
    const model = await this.model(roomId, memberId);
    const relevance = CRAFT_MOVES.map((m, i) => {
      const sim = ctxVec ? dot(ctxVec, moveVecs[i]!) : 0;
      const pref = model.empty ? 0 : Math.tanh(model.score(featureVector(moveVecs[i]!, m.instruction))) * 0.1;
      return (ctxVec ? sim : 0) + 0.15 * m.prior + pref;
    });
    // A dismissed move stays out while undismissed ones can fill the list: a small score penalty let
    // a move the context favoured strongly come straight back first.
    const fresh = CRAFT_MOVES.flatMap((m, i) => (dismissed.has(m.id) ? [] : [i]));
    const picked = mmr(fresh.map((i) => relevance[i]!), fresh.map((i) => moveVecs[i]!), nMoves).map((j) => fresh[j]!);
    const stale = CRAFT_MOVES.flatMap((m, i) => (dismissed.has(m.id) ? [i] : []));
    stale.sort((a, b) => dismissed.get(CRAFT_MOVES[a]!.id)! - dismissed.get(CRAFT_MOVES[b]!.id)! || relevance[b]! - relevance[a]!);
    const moves: Suggestion[] = [...picked, ...stale].slice(0, nMoves).map((i) => {
      const m = CRAFT_MOVES[i]!;
      return { id: m.id, kind: 'craft-move', title: m.title, instruction: m.instruction, score: round(relevance[i]!) };
    });

    const seen = new Set<string>();
    const candidates = library.filter((p) => {
      const t = p.text.trim();
      if (t.length < 30 || seen.has(t) || (ctx && ctx.includes(t))) return false;
      if (dismissed.has(passageId(p))) return false;
      seen.add(t);
      return true;
    });
    let passages: Suggestion[] = [];
    if (candidates.length && ctxVec) {
      const vecs = await this.embedder.embed(candidates.map((p) => p.text));
      const rel = vecs.map((v) => dot(ctxVec, v));
      passages = mmr(rel, vecs, nPassages)
        .filter((i) => rel[i]! > 0)
        .map((i) => {
          const p = candidates[i]!;
          return {
            id: passageId(p),
            kind: 'related-passage',
            title: p.roomName,
            instruction: `Continue in the spirit of this passage: ${p.text.slice(0, 300)}`,
            source: { roomId: p.roomId, roomName: p.roomName },
            excerpt: p.text.length > 400 ? `${p.text.slice(0, 399)}…` : p.text,
            score: round(rel[i]!),
          };
        });
    }
    return [...moves, ...passages];
  }

  /** Text stored with a dismiss, so preferences can learn from it. */
  suggestionText(id: string): string {
    return craftMove(id)?.instruction ?? '';
  }
}

export function passageId(p: LibraryPassage): string {
  return `passage:${textKey(`${p.roomId}\u0000${p.text}`)}`;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
