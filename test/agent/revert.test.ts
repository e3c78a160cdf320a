import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AI_MARK, authorsOf, storyOf, storyText, type Ack, type ProposalDone, type ProposalInfo, type ProvenanceReport, type RevertResult, type RoomResponse } from '../../shared/src/index';
import { insertAiText, resolveAnchor } from '../../server/src/agent/anchor';
import { captureReplaced, restoreReplaced, revertAiRun, type InsertedRange } from '../../server/src/agent/revert';
import { AgentWriter } from '../../server/src/agent/writer';
import { anchorAtEnd, api, call, connectMember, createRoom, joinRoom, removeDir, startServer, typeParagraph, waitFor, type Member, type TestServer } from './harness';

/** A human paragraph in `doc` (a member's own client), as y-prosemirror stores it. */
function humanParagraph(doc: Y.Doc, text: string, memberId = 'sam'): Y.XmlText {
  authorsOf(doc).set(String(doc.clientID), { memberId, displayName: memberId, kind: 'human' });
  return typeParagraph(doc, text);
}

/** Accepts `text` at the end of `t` as the agent would; returns the inserted range. */
function accept(writer: AgentWriter, doc: Y.Doc, t: Y.XmlText, proposalId: string, text: string): InsertedRange {
  const rpos = Y.createRelativePositionFromTypeIndex(t, t.length);
  return writer.edit((scratch) => {
    const clock = Y.getState(scratch.store, scratch.clientID);
    insertAiText(resolveAnchor(scratch, rpos), text, { proposalId, model: 'm', acceptedBy: 'sam' }, 'continue');
    return { client: scratch.clientID, clock, length: Y.getState(scratch.store, scratch.clientID) - clock };
  });
}

function revert(writer: AgentWriter, id: string, range?: InsertedRange): ReturnType<typeof revertAiRun> {
  return writer.edit((scratch) => revertAiRun(scratch, id, range));
}

describe('revertAiRun: takes exactly the accepted AI run out, by Yjs identity', () => {
  it('restores the text as it was, with edits made around the run since kept', () => {
    const doc = new Y.Doc({ gc: false });
    const t = humanParagraph(doc, 'Sam began.');
    const before = storyText(doc);
    const writer = new AgentWriter(doc);
    const range = accept(writer, doc, t, 'p1', 'The AI went on.');
    expect(storyText(doc)).toBe('Sam began. The AI went on.');
    // Edits around the run after the accept: before it and after it.
    t.insert(0, 'So, ');
    t.insert(t.length, ' Sam ended.');
    const out = revert(writer, 'p1', range);
    expect(out.removed).toBe(' The AI went on.'.length);
    expect(storyText(doc)).toBe('So, ' + before + ' Sam ended.');
  });

  it('keeps what a member typed inside the AI run, unmarked; a second revert changes nothing', () => {
    const doc = new Y.Doc({ gc: false });
    const t = humanParagraph(doc, 'Start.');
    const writer = new AgentWriter(doc);
    const range = accept(writer, doc, t, 'p1', 'Rain fell hard.');
    // Sam types inside the AI text; the editor gives typed text the surrounding mark.
    const at = storyText(doc).indexOf('fell');
    t.insert(at, 'very ', { [AI_MARK]: { proposalId: 'p1', model: 'm', acceptedBy: 'sam' } });
    const out = revert(writer, 'p1', range);
    expect(storyText(doc)).toBe('Start.very ');
    expect(out.keptHuman).toBe('very '.length);
    const marked = (t.toDelta() as Array<{ attributes?: Record<string, unknown> }>).some((d) => d.attributes?.[AI_MARK]);
    expect(marked).toBe(false);
    expect(revert(writer, 'p1', range)).toEqual({ removed: 0, keptHuman: 0 });
  });

  it('touches only its own proposal: a later accept right after it stays (even though Yjs merges the items)', () => {
    const doc = new Y.Doc({ gc: false });
    const t = humanParagraph(doc, 'One.');
    const writer = new AgentWriter(doc);
    const r1 = accept(writer, doc, t, 'p1', 'Two.');
    accept(writer, doc, t, 'p2', 'Three.');
    revert(writer, 'p1', r1);
    expect(storyText(doc)).toBe('One. Three.');
  });

  it('without the range (a restored version) it still finds the agent text by its mark', () => {
    const doc = new Y.Doc({ gc: false });
    const t = humanParagraph(doc, 'Hello.');
    const writer = new AgentWriter(doc);
    accept(writer, doc, t, 'p1', 'World.');
    expect(revert(writer, 'p1').removed).toBe(' World.'.length);
    expect(storyText(doc)).toBe('Hello.');
  });

  it('a rewrite: undoing puts the replaced passage back exactly, formatting kept, written as its author', () => {
    const doc = new Y.Doc({ gc: false });
    const t = humanParagraph(doc, 'Sam wrote a dull line here.');
    t.format(12, 4, { bold: true }); // "dull"
    const before = t.toDelta();
    const writer = new AgentWriter(doc);
    const from = Y.createRelativePositionFromTypeIndex(t, 'Sam wrote '.length);
    const to = Y.createRelativePositionFromTypeIndex(t, 'Sam wrote a dull line'.length);
    const { range, replaced } = writer.edit((scratch) => {
      const at = resolveAnchor(scratch, from);
      const end = resolveAnchor(scratch, to);
      const replaced = captureReplaced(scratch, at.type as Y.XmlText, at.index, end.index);
      const clock = Y.getState(scratch.store, scratch.clientID);
      insertAiText(at, 'a bright sentence', { proposalId: 'r', model: 'm', acceptedBy: 'sam' }, 'rewrite', end);
      return { replaced, range: { client: scratch.clientID, clock, length: Y.getState(scratch.store, scratch.clientID) - clock } };
    });
    expect(storyText(doc)).toBe('Sam wrote a bright sentence here.');
    expect(replaced.map((r) => [r.text, r.memberId])).toEqual([['a ', 'sam'], ['dull', 'sam'], [' line', 'sam']]);
    const out = writer.edit((scratch) => revertAiRun(scratch, 'r', range));
    const restored = restoreReplaced(doc, out.at!, replaced, (put) => writer.edit(put));
    expect(restored).toBe('a dull line'.length);
    expect(storyText(doc)).toBe('Sam wrote a dull line here.');
    expect(t.toDelta()).toEqual(before);
    // The restored characters belong to a client recorded as Sam (human), not to the agent.
    const authors = authorsOf(doc);
    const clients = new Set<number>();
    for (let item = t._start; item; item = item.right) if (!item.deleted && item.content instanceof Y.ContentString && item.content.str.includes('dull')) clients.add(item.id.client);
    expect([...clients].map((c) => authors.get(String(c)))).toEqual([expect.objectContaining({ memberId: 'sam', kind: 'human' })]);
  });

  it('brainstorm paragraphs the accept created go with their text', () => {
    const doc = new Y.Doc({ gc: false });
    const t = humanParagraph(doc, 'Ideas:');
    const writer = new AgentWriter(doc);
    const rpos = Y.createRelativePositionFromTypeIndex(t, t.length);
    const range = writer.edit((scratch) => {
      const clock = Y.getState(scratch.store, scratch.clientID);
      insertAiText(resolveAnchor(scratch, rpos), 'a dragon\na storm', { proposalId: 'b', model: 'm', acceptedBy: 'sam' }, 'brainstorm');
      return { client: scratch.clientID, clock, length: Y.getState(scratch.store, scratch.clientID) - clock };
    });
    expect(storyOf(doc).length).toBe(3);
    revert(writer, 'b', range);
    expect(storyOf(doc).length).toBe(1);
    expect(storyText(doc)).toBe('Ideas:');
  });
});

describe('proposal:revert over /collab (real server, engine and clients)', () => {
  let srv: TestServer;
  const members: Member[] = [];
  const member = async (room: RoomResponse): Promise<Member> => {
    const m = await connectMember(srv.port, room.room.id, room.token, room.member.id);
    members.push(m);
    return m;
  };
  beforeAll(async () => {
    // One finished proposal kept in memory: the revert below runs on one the room no longer holds live.
    srv = await startServer({ agent: { generation: { maxTokens: 10, deadlineMs: 60_000 }, limits: { maxProposalsKept: 1 } } });
  });
  afterAll(async () => {
    for (const m of members) m.close();
    await srv.close();
    removeDir(srv.dataDir);
  });

  it('reverts for everyone, recorded; bad payloads, viewers and unaccepted proposals are refused; twice is a no-op; allowed with AI off', async () => {
    const owner = await createRoom(srv.http, 'writers-room', 'Olivia');
    const ed = await joinRoom(srv.http, owner.room.joinCode, 'Ed');
    const vic = await joinRoom(srv.http, owner.room.joinCode, 'Vic', 'viewer');
    const [o, e, v] = [await member(owner), await member(ed), await member(vic)];
    const done = new Map<string, ProposalDone[]>();
    e.socket.on('proposal:done', (d: ProposalDone) => done.set(d.proposalId, [...(done.get(d.proposalId) ?? []), d]));
    const reverted: unknown[] = [];
    o.socket.on('proposal:reverted', (x: unknown) => reverted.push(x));
    const t = typeParagraph(o.doc, 'Olivia opens the story.');
    await waitFor(() => storyText(e.doc).includes('opens'), 10_000, 'sync');
    const before = storyText(o.doc);
    const ask = async (): Promise<string> => {
      const r = await call<Ack<{ proposal: ProposalInfo }>>(e.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 1 });
      if (!r.ok) throw new Error(r.error.message);
      await waitFor(() => (done.get(r.proposal.id)?.length ?? 0) === 1 && !!done.get(r.proposal.id)![0]!.text.trim(), 60_000, 'done');
      return r.proposal.id;
    };
    const id = await ask();

    // Not accepted yet; payload checks.
    expect(await call(e.socket, 'proposal:revert', { proposalId: id })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    for (const bad of [{}, { proposalId: 5 }, { proposalId: '' }, { proposalId: id, extra: 1 }, 'x']) {
      expect(await call(e.socket, 'proposal:revert', bad)).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    }
    expect(await call(e.socket, 'proposal:revert', { proposalId: 'nope' })).toMatchObject({ ok: false, error: { code: 'not_found' } });

    expect(await call(e.socket, 'proposal:accept', { proposalId: id, alternative: 0 })).toEqual({ ok: true });
    await waitFor(() => storyText(o.doc) !== before, 10_000, 'accepted text synced');
    expect(await call(v.socket, 'proposal:revert', { proposalId: id })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    // A newer proposal pushes the accepted one out of memory: it is reverted from its stored record.
    const newer = await ask();
    expect(await call(e.socket, 'proposal:accept', { proposalId: id, alternative: 0 })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(newer).not.toBe(id);

    // The owner reverts Ed's accept, with the AI off: it removes AI text, it adds none.
    expect((await api(srv.http, 'PATCH', `/api/rooms/${owner.room.id}/settings`, { aiMode: 'off' }, owner.token)).status).toBe(200);
    const first = await call<Ack<RevertResult>>(o.socket, 'proposal:revert', { proposalId: id });
    expect(first).toMatchObject({ ok: true, already: false });
    expect((first as RevertResult).removed).toBeGreaterThan(0);
    await waitFor(() => storyText(o.doc) === before && storyText(e.doc) === before, 10_000, 'revert synced to both');
    await waitFor(() => reverted.length === 1, 5000, 'reverted event');
    expect(reverted[0]).toMatchObject({ proposalId: id, revertedBy: owner.member.id });
    expect(await call(e.socket, 'proposal:revert', { proposalId: id })).toEqual({ ok: true, removed: 0, keptHuman: 0, restored: 0, already: true });
    expect(storyText(o.doc)).toBe(before);
    // Recorded as a revert by that member.
    const stored = (await srv.server.context.store.records.listProposals(owner.room.id, 10)).find((p) => p.id === id)!;
    expect(stored).toMatchObject({ status: 'reverted', revertedBy: owner.member.id, acceptedBy: ed.member.id });
    expect(stored.inserted?.length).toBeGreaterThan(0);
    // Provenance: the undo is the owner's, and the removed AI text does not count as edited away by people.
    const prov = (await api<ProvenanceReport>(srv.http, 'GET', `/api/rooms/${owner.room.id}/provenance`, undefined, owner.token)).body;
    expect(prov.ai.reverted).toEqual([expect.objectContaining({ proposalId: id, acceptedBy: ed.member.id, revertedBy: owner.member.id, revertedByName: 'Olivia' })]);
    expect(prov.ai.edited.agentCharsDeleted).toBe(0);
    expect(prov.ai.markedChars).toBe(0);
  }, 120_000);
});
