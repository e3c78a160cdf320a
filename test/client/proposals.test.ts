import { describe, expect, it } from 'vitest';
import type { ProposalInfo } from '@ensemble/shared';
import { canAcceptAlternative, initialProposalsState, isStreaming, MAX_PROPOSALS, proposalsOf, proposalsReducer, type ProposalAction, type ProposalsState } from '../../client/src/lib/proposals';

const info = (over: Partial<ProposalInfo> = {}): ProposalInfo => ({
  id: 'p1',
  kind: 'text',
  requestedBy: { memberId: 'm1', displayName: 'Ann' },
  mode: 'continue',
  alternatives: 2,
  model: 'tiny',
  createdAt: '2024-01-01T00:00:00Z',
  status: 'streaming',
  ...over,
});

const run = (actions: ProposalAction[], state: ProposalsState = initialProposalsState) => actions.reduce(proposalsReducer, state);
const delta = (alternative: number, seq: number, text: string, proposalId = 'p1'): ProposalAction => ({ type: 'delta', delta: { proposalId, alternative, seq, text } });

describe('proposals reducer', () => {
  it('streams every alternative in order and becomes ready when all are done', () => {
    let s = run([{ type: 'started', proposal: info() }, delta(0, 0, 'The '), delta(1, 0, 'A '), delta(0, 1, 'sea')]);
    const p = s.byId.p1!;
    expect(p.alternatives.map((a) => a.text)).toEqual(['The sea', 'A ']);
    expect(isStreaming(p)).toBe(true);
    s = run([{ type: 'done', done: { proposalId: 'p1', alternative: 0, text: 'The sea.', finishReason: 'stop' } }], s);
    expect(s.byId.p1!.status).toBe('streaming');
    s = run([{ type: 'done', done: { proposalId: 'p1', alternative: 1, text: 'A gull.', finishReason: 'length' } }], s);
    expect(s.byId.p1!.status).toBe('ready');
    expect(s.byId.p1!.alternatives.map((a) => a.text)).toEqual(['The sea.', 'A gull.']);
    expect(canAcceptAlternative(s.byId.p1!, s.byId.p1!.alternatives[0]!)).toBe(true);
  });

  it('buffers out-of-order deltas and ignores duplicates', () => {
    const s = run([{ type: 'started', proposal: info({ alternatives: 1 }) }, delta(0, 1, 'b'), delta(0, 2, 'c'), delta(0, 0, 'a'), delta(0, 1, 'b')]);
    expect(s.byId.p1!.alternatives[0]!.text).toBe('abc');
    expect(s.byId.p1!.alternatives[0]!.nextSeq).toBe(3);
  });

  it('shows a proposal first seen mid-stream (asked by someone else)', () => {
    const s = run([delta(1, 4, 'late'), delta(1, 5, ' text')]);
    const p = s.byId.p1!;
    expect(p.joinedLate).toBe(true);
    expect(p.alternatives.find((a) => a.index === 1)!.text).toBe('late text');
  });

  it('votes, accepts and then nothing else can be accepted', () => {
    let s = run([
      { type: 'started', proposal: info() },
      { type: 'done', done: { proposalId: 'p1', alternative: 0, text: 'x', finishReason: 'stop' } },
      { type: 'done', done: { proposalId: 'p1', alternative: 1, text: 'y', finishReason: 'stop' } },
      { type: 'voted', tally: { proposalId: 'p1', alternative: 1, up: 2, down: 1 } },
      { type: 'myVote', proposalId: 'p1', alternative: 1, value: 1 },
    ]);
    expect(s.byId.p1!.alternatives[1]).toMatchObject({ up: 2, down: 1, myVote: 1 });
    s = run([{ type: 'accepted', proposalId: 'p1', alternative: 1, acceptedBy: 'm2' }], s);
    expect(s.byId.p1!).toMatchObject({ status: 'accepted', acceptedAlternative: 1, acceptedBy: 'm2' });
    expect(canAcceptAlternative(s.byId.p1!, s.byId.p1!.alternatives[0]!)).toBe(false);
    // A late `done` does not undo the outcome.
    s = run([{ type: 'done', done: { proposalId: 'p1', alternative: 0, text: 'x!', finishReason: 'stop' } }], s);
    expect(s.byId.p1!.status).toBe('accepted');
  });

  it('a reverted accept stays reverted (who undid it), cannot be accepted again, and a re-announce does not reopen it', () => {
    let s = run([
      { type: 'started', proposal: info({ alternatives: 1 }) },
      { type: 'done', done: { proposalId: 'p1', alternative: 0, text: 'x', finishReason: 'stop' } },
      { type: 'accepted', proposalId: 'p1', alternative: 0, acceptedBy: 'm2' },
      { type: 'reverted', proposalId: 'p1', revertedBy: 'm1' },
    ]);
    expect(s.byId.p1!).toMatchObject({ status: 'reverted', revertedBy: 'm1', acceptedAlternative: 0 });
    expect(canAcceptAlternative(s.byId.p1!, s.byId.p1!.alternatives[0]!)).toBe(false);
    s = run([{ type: 'started', proposal: info({ alternatives: 1, status: 'ready' }) }], s);
    expect(s.byId.p1!.status).toBe('reverted');
  });

  it('stop ends streaming alternatives; filtered text cannot be accepted', () => {
    let s = run([{ type: 'started', proposal: info() }, delta(0, 0, 'half'), { type: 'stopped', proposalId: 'p1', stoppedBy: 'm1' }]);
    expect(s.byId.p1!.status).toBe('stopped');
    expect(s.byId.p1!.alternatives[0]).toMatchObject({ status: 'done', finishReason: 'stopped', text: 'half' });
    expect(isStreaming(s.byId.p1!)).toBe(false);
    s = run([{ type: 'started', proposal: info({ id: 'p2', alternatives: 1 }) }, { type: 'done', done: { proposalId: 'p2', alternative: 0, text: 'bad words', finishReason: 'filtered', reason: 'blocked word' } }], s);
    const p2 = s.byId.p2!;
    expect(p2.alternatives[0]).toMatchObject({ text: '', reason: 'blocked word' });
    expect(canAcceptAlternative(p2, p2.alternatives[0]!)).toBe(false);
  });

  it('rejecting every alternative rejects the proposal; failures carry messages', () => {
    let s = run([
      { type: 'started', proposal: info() },
      { type: 'rejected', proposalId: 'p1', alternative: 0, rejectedBy: 'm1' },
    ]);
    expect(s.byId.p1!.status).toBe('streaming');
    s = run([{ type: 'rejected', proposalId: 'p1', alternative: 1, rejectedBy: 'm1' }], s);
    expect(s.byId.p1!.status).toBe('rejected');
    s = run([{ type: 'started', proposal: info({ id: 'p3' }) }, { type: 'failed', failed: { proposalId: 'p3', code: 'busy', message: 'too many' } }], s);
    expect(s.byId.p3!).toMatchObject({ status: 'failed', error: { code: 'busy' } });
    expect(s.byId.p3!.alternatives.every((a) => a.status === 'failed')).toBe(true);
  });

  it('regenerate appends alternatives to the same proposal and keeps the earlier ones', () => {
    let s = run([
      { type: 'started', proposal: info() },
      { type: 'done', done: { proposalId: 'p1', alternative: 0, text: 'one', finishReason: 'stop' } },
      { type: 'done', done: { proposalId: 'p1', alternative: 1, text: 'two', finishReason: 'stop' } },
      { type: 'ranking', proposalId: 'p1', order: [1, 0] },
    ]);
    expect(s.byId.p1!.status).toBe('ready');
    s = run([{ type: 'started', proposal: info({ alternatives: 4, firstAlternative: 2 }) }, delta(2, 0, 'three')], s);
    const p = s.byId.p1!;
    expect(p.status).toBe('streaming');
    expect(p.alternatives.map((a) => [a.index, a.text])).toEqual([
      [0, 'one'],
      [1, 'two'],
      [2, 'three'],
      [3, ''],
    ]);
    expect(s.ids).toEqual(['p1']);
  });

  it('catches up from a proposal:list snapshot', () => {
    const s = run([
      {
        type: 'snapshot',
        snapshots: [
          {
            proposal: info(),
            alternatives: [
              { alternative: 0, text: 'done text', done: true, finishReason: 'stop' },
              { alternative: 1, text: 'so far', done: false },
            ],
            tallies: [{ proposalId: 'p1', alternative: 0, up: 1, down: 0 }],
          },
        ],
      },
      delta(1, 7, ' more'),
    ]);
    const p = s.byId.p1!;
    expect(p.alternatives[0]).toMatchObject({ text: 'done text', status: 'done', up: 1 });
    expect(p.alternatives[1]).toMatchObject({ text: 'so far more', status: 'streaming', nextSeq: 8 });
  });

  it('tracks image proposals per panel and their acceptance', () => {
    let s = run([
      { type: 'started', proposal: info({ id: 'i1', kind: 'image', mode: 'image', panelId: 'pan', alternatives: 2 }) },
      { type: 'imagesProposed', proposalId: 'i1', panelId: 'pan', images: [{ alternative: 0, imageId: 'a', url: '/a' }, { alternative: 1, imageId: 'b', url: '/b' }] },
    ]);
    const p = s.byId.i1!;
    expect(p.status).toBe('ready');
    expect(canAcceptAlternative(p, p.alternatives[1]!)).toBe(true);
    s = run([{ type: 'imageAccepted', proposalId: 'i1', panelId: 'pan', imageId: 'b', acceptedBy: 'm2' }], s);
    expect(s.byId.i1!).toMatchObject({ status: 'accepted', acceptedAlternative: 1 });
    expect(proposalsOf(s, (v) => v.info.panelId === 'pan')).toHaveLength(1);
  });

  it('keeps the newest proposals only, and clears on request', () => {
    let s = initialProposalsState;
    for (let i = 0; i < MAX_PROPOSALS + 5; i++) s = proposalsReducer(s, { type: 'started', proposal: info({ id: `p${i}` }) });
    expect(s.ids).toHaveLength(MAX_PROPOSALS);
    expect(s.ids[0]).toBe(`p${MAX_PROPOSALS + 4}`);
    expect(Object.keys(s.byId)).toHaveLength(MAX_PROPOSALS);
    s = proposalsReducer(s, { type: 'clear', proposalId: s.ids[0]! });
    expect(s.ids).toHaveLength(MAX_PROPOSALS - 1);
  });
});
