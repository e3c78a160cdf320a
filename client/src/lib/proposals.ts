import type {
  ErrorCode,
  ImageAlternative,
  ProposalDelta,
  ProposalDone,
  ProposalFailed,
  ProposalInfo,
  ProposalSnapshot,
  ProposalStatus,
  VoteTally,
} from '@ensemble/shared';

/** One alternative of a proposal as the client shows it. */
export interface AlternativeView {
  index: number;
  text: string;
  /** Next `seq` expected from the stream; -1: adopt the next delta's seq (joined mid-stream). */
  nextSeq: number;
  /** Deltas that arrived ahead of a missing one, by seq. */
  pending: Record<number, string>;
  status: 'streaming' | 'done' | 'failed' | 'rejected';
  finishReason?: ProposalDone['finishReason'];
  /** Why the moderation filter dropped it, or why it failed. */
  reason?: string;
  up: number;
  down: number;
  myVote: -1 | 0 | 1;
  image?: ImageAlternative;
}

export interface ProposalView {
  info: ProposalInfo;
  status: ProposalStatus;
  alternatives: AlternativeView[];
  /** This member's order of alternatives (from `proposal:ranking`), when it has arrived. */
  order?: number[];
  acceptedAlternative?: number;
  acceptedBy?: string;
  rejectedBy?: string;
  stoppedBy?: string;
  /** Who took the accepted AI text back out (`proposal:reverted`). */
  revertedBy?: string;
  error?: { code: ErrorCode; message: string };
  /** Where in the text it applies (base64 Yjs relative position), when known. */
  anchor?: string;
  /** True when this client saw the proposal only after it had started. */
  joinedLate?: boolean;
}

export interface ProposalsState {
  byId: Record<string, ProposalView>;
  /** Newest first. */
  ids: string[];
}

export const MAX_PROPOSALS = 40;

export const initialProposalsState: ProposalsState = { byId: {}, ids: [] };

export type ProposalAction =
  | { type: 'started'; proposal: ProposalInfo }
  | { type: 'delta'; delta: ProposalDelta }
  | { type: 'done'; done: ProposalDone }
  | { type: 'failed'; failed: ProposalFailed }
  | { type: 'voted'; tally: VoteTally }
  | { type: 'accepted'; proposalId: string; alternative: number; acceptedBy: string }
  | { type: 'rejected'; proposalId: string; alternative?: number | undefined; rejectedBy: string }
  | { type: 'stopped'; proposalId: string; stoppedBy: string }
  | { type: 'reverted'; proposalId: string; revertedBy: string }
  | { type: 'ranking'; proposalId: string; order: number[] }
  | { type: 'imagesProposed'; proposalId: string; panelId: string; images: ImageAlternative[] }
  | { type: 'imageAccepted'; proposalId: string; panelId: string; imageId: string; acceptedBy: string }
  /** `authoritative`: the server's list after a (re)connect wins — text cards it no longer has are dropped. */
  | { type: 'snapshot'; snapshots: ProposalSnapshot[]; authoritative?: boolean }
  | { type: 'anchor'; proposalId: string; anchor: string }
  | { type: 'myVote'; proposalId: string; alternative: number; value: -1 | 0 | 1 }
  | { type: 'clear'; proposalId: string };

function emptyAlternative(index: number): AlternativeView {
  return { index, text: '', nextSeq: 0, pending: {}, status: 'streaming', up: 0, down: 0, myVote: 0 };
}

function stubInfo(id: string, kind: ProposalInfo['kind'] = 'text'): ProposalInfo {
  return {
    id,
    kind,
    requestedBy: { memberId: '', displayName: 'someone' },
    mode: kind === 'image' ? 'image' : 'continue',
    alternatives: 1,
    model: '',
    createdAt: new Date(0).toISOString(),
    status: 'streaming',
  };
}

const FINAL: ReadonlySet<ProposalStatus> = new Set(['accepted', 'rejected', 'stopped', 'failed', 'reverted']);

function withAlternative(view: ProposalView, index: number): ProposalView {
  if (view.alternatives.some((a) => a.index === index)) return view;
  const alternatives = [...view.alternatives, emptyAlternative(index)].sort((a, b) => a.index - b.index);
  return { ...view, alternatives };
}

function updateAlternative(view: ProposalView, index: number, f: (alt: AlternativeView) => AlternativeView): ProposalView {
  const v = withAlternative(view, index);
  return { ...v, alternatives: v.alternatives.map((a) => (a.index === index ? f(a) : a)) };
}

/** `ready` once every alternative finished streaming, unless the proposal already has an outcome. */
function settle(view: ProposalView): ProposalView {
  if (FINAL.has(view.status)) return view;
  const expected = Math.max(view.info.alternatives, view.alternatives.length);
  const finished = view.alternatives.filter((a) => a.status !== 'streaming').length;
  if (view.info.kind === 'text' && view.alternatives.length >= expected && finished === view.alternatives.length) {
    return { ...view, status: 'ready' };
  }
  return view;
}

function upsert(state: ProposalsState, id: string, f: (view: ProposalView) => ProposalView, kind: ProposalInfo['kind'] = 'text'): ProposalsState {
  const existing = state.byId[id];
  const base: ProposalView = existing ?? { info: stubInfo(id, kind), status: 'streaming', alternatives: [], joinedLate: true };
  const next = f(base);
  const ids = existing ? state.ids : [id, ...state.ids];
  const byId = { ...state.byId, [id]: next };
  // Drop the oldest proposals beyond the cap.
  for (const old of ids.slice(MAX_PROPOSALS)) delete byId[old];
  return { byId, ids: ids.slice(0, MAX_PROPOSALS) };
}

function appendDelta(alt: AlternativeView, delta: ProposalDelta, joinedLate: boolean): AlternativeView {
  if (alt.status !== 'streaming') return alt;
  // A client that joined mid-stream starts at whatever it first sees; `done` carries the full text.
  const nextSeq = alt.nextSeq < 0 || (joinedLate && alt.nextSeq === 0 && alt.text === '') ? delta.seq : alt.nextSeq;
  if (delta.seq < nextSeq) return alt; // duplicate
  const pending = { ...alt.pending, [delta.seq]: delta.text };
  let text = alt.text;
  let seq = nextSeq;
  while (pending[seq] !== undefined) {
    text += pending[seq];
    delete pending[seq];
    seq++;
  }
  return { ...alt, text, nextSeq: seq, pending };
}

/** Drops every text proposal (image cards are not part of `proposal:list`). */
function withoutTextProposals(state: ProposalsState): ProposalsState {
  const byId = { ...state.byId };
  const ids = state.ids.filter((id) => {
    if (byId[id]?.info.kind !== 'text') return true;
    delete byId[id];
    return false;
  });
  return { byId, ids };
}

export function proposalsReducer(state: ProposalsState, action: ProposalAction): ProposalsState {
  switch (action.type) {
    case 'started': {
      const p = action.proposal;
      return upsert(state, p.id, (view) => {
        // A regenerate re-announces the proposal (same id, more alternatives; earlier ones kept).
        let next: ProposalView = { ...view, info: p, status: view.status === 'accepted' || view.status === 'reverted' ? view.status : p.status, joinedLate: false };
        if (view.joinedLate && view.alternatives.length > 0) next.joinedLate = true;
        if (p.kind === 'text') for (let i = 0; i < p.alternatives; i++) next = withAlternative(next, i);
        return next;
      }, p.kind);
    }
    case 'delta': {
      const d = action.delta;
      return upsert(state, d.proposalId, (view) => updateAlternative(view, d.alternative, (alt) => appendDelta(alt, d, !!view.joinedLate)));
    }
    case 'done': {
      const d = action.done;
      return upsert(state, d.proposalId, (view) =>
        settle(
          updateAlternative(view, d.alternative, (alt) => ({
            ...alt,
            text: d.finishReason === 'filtered' ? '' : d.text,
            pending: {},
            status: alt.status === 'rejected' ? 'rejected' : 'done',
            finishReason: d.finishReason,
            ...(d.reason !== undefined ? { reason: d.reason } : {}),
          })),
        ),
      );
    }
    case 'failed': {
      const f = action.failed;
      return upsert(state, f.proposalId, (view) => {
        if (f.alternative === undefined) {
          const alternatives = view.alternatives.map((a) => (a.status === 'streaming' ? { ...a, status: 'failed' as const, reason: f.message } : a));
          return { ...view, alternatives, status: 'failed', error: { code: f.code, message: f.message } };
        }
        return settle(updateAlternative(view, f.alternative, (alt) => ({ ...alt, status: 'failed', reason: f.message })));
      });
    }
    case 'voted': {
      const t = action.tally;
      return upsert(state, t.proposalId, (view) => updateAlternative(view, t.alternative, (alt) => ({ ...alt, up: t.up, down: t.down })));
    }
    case 'myVote':
      return upsert(state, action.proposalId, (view) => updateAlternative(view, action.alternative, (alt) => ({ ...alt, myVote: action.value })));
    case 'accepted':
      return upsert(state, action.proposalId, (view) => ({
        ...view,
        status: 'accepted',
        acceptedAlternative: action.alternative,
        acceptedBy: action.acceptedBy,
      }));
    case 'rejected':
      return upsert(state, action.proposalId, (view) => {
        if (action.alternative === undefined) return { ...view, status: 'rejected', rejectedBy: action.rejectedBy };
        const next = updateAlternative(view, action.alternative, (alt) => ({ ...alt, status: 'rejected' }));
        const allRejected = next.alternatives.length > 0 && next.alternatives.every((a) => a.status === 'rejected');
        return allRejected ? { ...next, status: 'rejected', rejectedBy: action.rejectedBy } : next;
      });
    case 'reverted':
      return upsert(state, action.proposalId, (view) => ({ ...view, status: 'reverted', revertedBy: action.revertedBy }));
    case 'stopped':
      return upsert(state, action.proposalId, (view) => ({
        ...view,
        status: view.status === 'accepted' ? view.status : 'stopped',
        stoppedBy: action.stoppedBy,
        alternatives: view.alternatives.map((a) => (a.status === 'streaming' ? { ...a, status: 'done' as const, finishReason: 'stopped' as const } : a)),
      }));
    case 'ranking':
      return upsert(state, action.proposalId, (view) => ({ ...view, order: action.order }));
    case 'imagesProposed':
      return upsert(
        state,
        action.proposalId,
        (view) => {
          let next: ProposalView = {
            ...view,
            info: { ...view.info, kind: 'image', mode: 'image', panelId: action.panelId },
            status: FINAL.has(view.status) ? view.status : 'ready',
          };
          for (const image of action.images) {
            next = updateAlternative(next, image.alternative, (alt) => ({ ...alt, status: 'done', image }));
          }
          return next;
        },
        'image',
      );
    case 'imageAccepted':
      return upsert(
        state,
        action.proposalId,
        (view) => {
          const alt = view.alternatives.find((a) => a.image?.imageId === action.imageId);
          return {
            ...view,
            status: 'accepted',
            acceptedBy: action.acceptedBy,
            ...(alt ? { acceptedAlternative: alt.index } : {}),
          };
        },
        'image',
      );
    case 'snapshot': {
      let next = action.authoritative ? withoutTextProposals(state) : state;
      // Oldest first, so the newest ends up on top.
      const ordered = [...action.snapshots].sort((a, b) => a.proposal.createdAt.localeCompare(b.proposal.createdAt));
      for (const snap of ordered) {
        if (next.byId[snap.proposal.id]) continue; // live events already track it
        next = proposalsReducer(next, { type: 'started', proposal: snap.proposal });
        next = upsert(next, snap.proposal.id, (view) => {
          let v: ProposalView = view;
          for (const alt of snap.alternatives) {
            v = updateAlternative(v, alt.alternative, (a) => ({
              ...a,
              text: alt.text,
              nextSeq: alt.done ? a.nextSeq : -1,
              status: alt.done ? 'done' : 'streaming',
              ...(alt.finishReason ? { finishReason: alt.finishReason } : {}),
              ...(alt.reason ? { reason: alt.reason } : {}),
            }));
          }
          for (const t of snap.tallies) v = updateAlternative(v, t.alternative, (a) => ({ ...a, up: t.up, down: t.down }));
          if (snap.order) v = { ...v, order: snap.order };
          // What only this tab knows: where the card points and this member's own votes.
          const before = state.byId[snap.proposal.id];
          if (before?.anchor) v = { ...v, anchor: before.anchor };
          for (const old of before?.alternatives ?? []) {
            if (old.myVote) v = updateAlternative(v, old.index, (a) => ({ ...a, myVote: old.myVote }));
          }
          return settle(v);
        });
      }
      return next;
    }
    case 'anchor':
      return upsert(state, action.proposalId, (view) => ({ ...view, anchor: action.anchor }));
    case 'clear': {
      if (!state.byId[action.proposalId]) return state;
      const byId = { ...state.byId };
      delete byId[action.proposalId];
      return { byId, ids: state.ids.filter((id) => id !== action.proposalId) };
    }
  }
}

/** Whether generation is still running (can be stopped). */
export function isStreaming(view: ProposalView): boolean {
  return view.status === 'streaming' && view.alternatives.some((a) => a.status === 'streaming');
}

/** Whether an alternative can still be accepted. */
export function canAcceptAlternative(view: ProposalView, alt: AlternativeView): boolean {
  if (view.status === 'accepted' || view.status === 'rejected' || view.status === 'failed' || view.status === 'reverted') return false;
  if (view.info.kind === 'image') return !!alt.image;
  return alt.status === 'done' && alt.text.trim().length > 0 && alt.finishReason !== 'filtered';
}

/** Text proposals, image proposals for a panel, etc. */
export function proposalsOf(state: ProposalsState, filter: (view: ProposalView) => boolean): ProposalView[] {
  return state.ids.map((id) => state.byId[id]).filter((v): v is ProposalView => !!v && filter(v));
}
