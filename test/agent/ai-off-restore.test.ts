import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storyText, type Ack, type ProposalDone, type ProposalInfo, type ProvenanceReport, type RoomResponse, type VersionInfo } from '../../shared/src/index';
import { anchorAtEnd, api, call, connectMember, createRoom, joinRoom, removeDir, startServer, typeParagraph, waitFor, type Member, type TestServer } from './harness';

const GEN = { maxTokens: 12, deadlineMs: 60_000 };

/** Chars per author row (kind:displayName), the dashboard's view of who wrote what. */
function counts(report: ProvenanceReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of report.authors) out[`${a.kind}:${a.displayName}`] = (out[`${a.kind}:${a.displayName}`] ?? 0) + a.chars;
  return out;
}

describe('AI off refuses accept and regenerate; a restore keeps who wrote what (real server and clients)', () => {
  let srv: TestServer;
  const members: Member[] = [];
  const member = async (room: RoomResponse): Promise<Member> => {
    const m = await connectMember(srv.port, room.room.id, room.token, room.member.id);
    members.push(m);
    return m;
  };

  beforeAll(async () => {
    srv = await startServer({ agent: { generation: GEN, limits: { maxConcurrentPerRoom: 4 }, rate: { burst: 10, perMinute: 60 } } });
  });
  afterAll(async () => {
    for (const m of members) m.close();
    await srv.close();
    removeDir(srv.dataDir);
  });

  it('classroom: accept and regenerate answer ai_disabled while AI is off; a restore keeps per-author counts', async () => {
    const owner = await createRoom(srv.http, 'classroom', 'Teacher');
    const student = await joinRoom(srv.http, owner.room.joinCode, 'Sam');
    const [o, s] = [await member(owner), await member(student)];
    const done = new Map<string, ProposalDone[]>();
    s.socket.on('proposal:done', (d: ProposalDone) => done.set(d.proposalId, [...(done.get(d.proposalId) ?? []), d]));
    typeParagraph(o.doc, 'The teacher set the scene.');
    const t = typeParagraph(s.doc, 'Sam wrote two sentences. Here is the second.');
    const server = () => srv.server.registry.peek(owner.room.id)!;
    await waitFor(() => !!srv.server.registry.peek(owner.room.id) && storyText(server().doc).includes('second'), 5000, 'sync');

    const ask = async (at = t): Promise<string> => {
      const r = await call<Ack<{ proposal: ProposalInfo }>>(s.socket, 'proposal:request', { anchor: anchorAtEnd(at), mode: 'continue', alternatives: 1 });
      expect(r.ok).toBe(true);
      const id = (r as { proposal: ProposalInfo }).proposal.id;
      await waitFor(() => (done.get(id)?.length ?? 0) === 1, 60_000, 'proposal done');
      return id;
    };
    const first = await ask();
    expect(await call(s.socket, 'proposal:accept', { proposalId: first, alternative: 0 })).toEqual({ ok: true });
    const later = await ask();
    const prov = async (): Promise<ProvenanceReport> => (await api<ProvenanceReport>(srv.http, 'GET', `/api/rooms/${owner.room.id}/provenance`, undefined, owner.token)).body;
    await waitFor(() => storyText(o.doc) === storyText(server().doc), 5000, 'accepted text synced');
    const beforeCounts = counts(await prov());
    expect(beforeCounts['human:Sam']).toBe('Sam wrote two sentences. Here is the second.'.length);
    expect(beforeCounts['agent:Ensemble AI']).toBeGreaterThan(0);

    // AI off: the earlier, finished proposal can be neither accepted nor regenerated.
    const changed = new Promise((resolve) => s.socket.once('settings:changed', resolve));
    expect((await api(srv.http, 'PATCH', `/api/rooms/${owner.room.id}/settings`, { aiMode: 'off' }, owner.token)).status).toBe(200);
    await changed;
    const story = storyText(server().doc);
    const refused = await call<Ack>(s.socket, 'proposal:accept', { proposalId: later, alternative: 0 });
    expect(refused).toMatchObject({ ok: false, error: { code: 'ai_disabled' } });
    expect((refused as { error: { message: string } }).error.message).toMatch(/turned off/);
    expect(await call(s.socket, 'proposal:regenerate', { proposalId: later })).toMatchObject({ ok: false, error: { code: 'ai_disabled' } });
    expect(storyText(server().doc)).toBe(story);

    // Save, then change the story (Sam's sentences deleted, the teacher adds one), then restore.
    const saved = await api<{ version: VersionInfo }>(srv.http, 'POST', `/api/rooms/${owner.room.id}/versions`, { name: 'before edits' }, owner.token);
    expect(saved.status).toBe(201);
    s.doc.transact(() => t.delete(0, t.length));
    typeParagraph(o.doc, 'A new ending.');
    await waitFor(() => !storyText(server().doc).includes('Sam wrote') && storyText(server().doc).includes('new ending'), 5000, 'edits synced');
    expect(counts(await prov())['human:Sam'] ?? 0).toBe(0);
    const serverId = server().doc.clientID;
    const restored = await api(srv.http, 'POST', `/api/rooms/${owner.room.id}/versions/${saved.body.version.id}/restore`, undefined, s.token);
    expect(restored.status).toBe(200);
    await waitFor(() => storyText(o.doc) === story && storyText(s.doc) === story, 5000, 'restore reached clients');
    const after = await prov();
    expect(counts(after)).toEqual(beforeCounts);
    expect(after.authors.some((a) => a.kind === 'unknown')).toBe(false);
    expect(after.ai.markedChars).toBe(beforeCounts['agent:Ensemble AI']);

    // AI back on: the agent's next accepted text is the agent's, never an unknown client's.
    expect((await api(srv.http, 'PATCH', `/api/rooms/${owner.room.id}/settings`, { aiMode: 'on' }, owner.token)).status).toBe(200);
    // The server keeps its own client id (Yjs changes it when it sees "its" structs arrive remotely).
    expect(server().doc.clientID).toBe(serverId);
    const restoredText = (s.doc.getXmlFragment('story').toArray()[1] as Y.XmlElement).toArray()[0] as Y.XmlText;
    const next = await ask(restoredText);
    expect(await call(s.socket, 'proposal:accept', { proposalId: next, alternative: 0 })).toEqual({ ok: true });
    expect(server().doc.clientID).toBe(serverId);
    const last = await prov();
    expect(last.authors.some((a) => a.kind === 'unknown')).toBe(false);
    expect(counts(last)['agent:Ensemble AI']).toBeGreaterThan(beforeCounts['agent:Ensemble AI']!);
    // Members keep typing into restored text as themselves.
    // (Into Sam's restored paragraph, wherever the restore put it among the paragraphs.)
    const samsText = s.doc
      .getXmlFragment('story')
      .toArray()
      .map((p) => (p as Y.XmlElement).toArray()[0])
      .find((x): x is Y.XmlText => x instanceof Y.XmlText && x.toString().startsWith('Sam wrote'))!;
    s.doc.transact(() => samsText.insert(0, 'X'));
    await waitFor(() => storyText(server().doc).includes('XSam wrote'), 5000, 'typing after restore synced');
    expect(counts(await prov())['human:Sam']).toBe(beforeCounts['human:Sam']! + 1);
  });
});
