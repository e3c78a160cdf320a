import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import type { ProposalInfo, ProposalSnapshot } from '@ensemble/shared';
import { encodeSyncStep1 } from '../../client/src/collab/liveness';
import { connectionLabel, describeAckError, OFFLINE_AI_MESSAGE } from '../../client/src/lib/format';
import { initialProposalsState, proposalsReducer, type ProposalAction, type ProposalsState } from '../../client/src/lib/proposals';

const info = (id: string, over: Partial<ProposalInfo> = {}): ProposalInfo => ({
  id,
  kind: 'text',
  requestedBy: { memberId: 'm1', displayName: 'Ann' },
  mode: 'continue',
  alternatives: 1,
  model: 'tiny',
  createdAt: '2024-01-01T00:00:00Z',
  status: 'streaming',
  ...over,
});
const snap = (id: string, text: string, done = true): ProposalSnapshot => ({
  proposal: info(id, { status: done ? 'ready' : 'streaming' }),
  alternatives: [{ alternative: 0, text, done, ...(done ? { finishReason: 'stop' as const } : {}) }],
  tallies: [{ proposalId: id, alternative: 0, up: 2, down: 0 }],
});
const run = (actions: ProposalAction[], state: ProposalsState = initialProposalsState) => actions.reduce(proposalsReducer, state);

describe('reconnect: the server list wins', () => {
  it('drops stale text cards, refreshes listed ones, keeps local votes, anchors and image cards', () => {
    const before = run([
      { type: 'started', proposal: info('stale') },
      { type: 'started', proposal: info('kept') },
      { type: 'delta', delta: { proposalId: 'kept', alternative: 0, seq: 0, text: 'half' } },
      { type: 'myVote', proposalId: 'kept', alternative: 0, value: 1 },
      { type: 'anchor', proposalId: 'kept', anchor: 'QUJD' },
      { type: 'started', proposal: info('img', { kind: 'image', mode: 'image', panelId: 'p' }) },
    ]);
    const after = proposalsReducer(before, { type: 'snapshot', snapshots: [snap('kept', 'half and whole'), snap('new', 'fresh')], authoritative: true });
    expect(after.ids.sort()).toEqual(['img', 'kept', 'new']);
    expect(after.byId.stale).toBeUndefined();
    expect(after.byId.kept!.alternatives[0]).toMatchObject({ text: 'half and whole', status: 'done', up: 2, myVote: 1 });
    expect(after.byId.kept!.anchor).toBe('QUJD');
    expect(after.byId.kept!.status).toBe('ready');
    // A late-join catch-up (not authoritative) still leaves what live events track alone.
    const merged = proposalsReducer(before, { type: 'snapshot', snapshots: [snap('kept', 'other')] });
    expect(merged.byId.stale).toBeDefined();
    expect(merged.byId.kept!.alternatives[0]!.text).toBe('half');
  });
});

describe('offline honesty', () => {
  it('says saved only when the server confirmed, and offline in the words users expect', () => {
    expect(connectionLabel('connected', true, true)).toBe('Connected · saving…');
    expect(connectionLabel('connected', true, false)).toBe('Connected · saved');
    expect(connectionLabel('disconnected', false, false)).toBe('Offline — your changes are kept on this device and will sync');
    expect(connectionLabel('disconnected', false, true)).toMatch(/^Offline — your edits are kept on this device and will sync$/);
    expect(OFFLINE_AI_MESSAGE).toMatch(/offline/i);
    expect(OFFLINE_AI_MESSAGE).not.toMatch(/server/i);
    expect(describeAckError({ code: 'offline' as never, message: '' })).toBe(OFFLINE_AI_MESSAGE);
  });

  it('encodes the probe exactly as y-protocols writes a sync step 1', () => {
    const doc = new Y.Doc();
    doc.getText('t').insert(0, 'x'.repeat(300));
    const other = new Y.Doc();
    for (let i = 0; i < 200; i++) other.getText('t').insert(0, 'y');
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(other));
    const reference = encoding.createEncoder();
    encoding.writeVarUint(reference, 0);
    syncProtocol.writeSyncStep1(reference, doc);
    expect(Array.from(encodeSyncStep1(doc))).toEqual(Array.from(encoding.toUint8Array(reference)));
  });
});
