import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorsOf, bibleOf, storyText, type Ack, type ModerationFlag, type ProposalInfo, type RoomResponse } from '../../shared/src/index';
import { HumanTextFlags } from '../../server/src/agent/flags';
import { Moderation } from '../../server/src/agent/moderation';
import { PromptBuilder } from '../../server/src/agent/prompt';
import { AgentWriter } from '../../server/src/agent/writer';
import { anchorAtEnd, api, call, connectMember, createRoom, joinRoom, removeDir, startServer, typeParagraph, waitFor, type Member, type TestServer } from './harness';

describe('Moderation: matches and a room’s own words', () => {
  it('finds every listed word with its place; a room list adds words without changing the base list', () => {
    const m = new Moderation([], true);
    expect(m.matches('Oh shit, and sh1t again')).toEqual([
      { index: 3, length: 4, word: 'shit' },
      { index: 13, length: 4, word: 'sh1t' },
    ]);
    expect(m.matches('grapefruit')).toEqual([]);
    const room = m.withWords(['grapefruit', 'blue moon']);
    expect(room.matches('a Grapefruit under a blue  moon').map((x) => x.word)).toEqual(['Grapefruit', 'blue  moon']);
    expect(room.check('shit').ok).toBe(false);
    expect(m.withWords(['grapefruit'])).toBe(m.withWords(['grapefruit']));
    expect(m.withWords([])).toBe(m);
  });
});

describe('bible entries and story text are masked before the model sees them (moderated rooms)', () => {
  it('completion and chat prompts carry asterisks, of the same length, in place of listed words', () => {
    const doc = new Y.Doc();
    const t = typeParagraph(doc, 'He said shit.');
    bibleOf(doc).set('tone', 'full of cocaine');
    const m = new Moderation();
    expect(m.mask('He said shit.')).toBe('He said ****.');
    const at = { type: t as unknown as Y.AbstractType<unknown>, index: t.length };
    const base = new PromptBuilder().build(doc, at, 'continue', undefined, null, undefined, (s) => m.mask(s));
    expect(base.prompt).not.toMatch(/shit|cocaine/);
    expect(base.prompt).toContain('He said ****.');
    expect(base.prompt).toContain('full of *******');
    const chat = new PromptBuilder({ maxChars: 4000, afterChars: 200, instruct: true }).build(doc, at, 'continue', undefined, null, { kind: 'classroom', moderation: true }, (s) => m.mask(s));
    expect(chat.messages!.map((x) => x.content).join('\n')).not.toMatch(/shit|cocaine/);
    // Unmoderated rooms: as written.
    expect(new PromptBuilder().build(doc, at, 'continue').prompt).toContain('cocaine');
  });
});

describe('HumanTextFlags: flags (never blocks) listed words members typed', () => {
  const human = (doc: Y.Doc, memberId: string): void => void authorsOf(doc).set(String(doc.clientID), { memberId, displayName: memberId.toUpperCase(), kind: 'human' });

  it('flags each occurrence once, with who / where / the word; not the agent’s text; bible fields too', async () => {
    const doc = new Y.Doc({ gc: false });
    human(doc, 'sam');
    const sent: ModerationFlag[] = [];
    const flags = new HumanTextFlags({ moderation: async () => new Moderation(), notify: (f) => sent.push(f) });
    const t = typeParagraph(doc, 'Sam wrote shit here');
    expect((await flags.scan(doc)).map((f) => [f.memberId, f.where, f.word])).toEqual([['sam', 'story', 'shit']]);
    // Typing on after it (the excerpt changes) and re-scans do not repeat it.
    t.insert(t.length, ' and more words');
    expect(await flags.scan(doc)).toEqual([]);
    // A second occurrence is a new flag.
    t.insert(t.length, ' shit');
    expect((await flags.scan(doc)).length).toBe(1);
    // The agent's text is the output filter's business.
    new AgentWriter(doc).edit((d) => typeParagraph(d, 'agent says shit'));
    expect(await flags.scan(doc)).toEqual([]);
    bibleOf(doc).set('tone', 'dark, with cocaine');
    expect((await flags.scan(doc)).map((f) => [f.where, f.word, f.displayName])).toEqual([['bible:tone', 'cocaine', 'SAM']]);
    expect(sent.length).toBe(3);
    expect(flags.list()[0]!.where).toBe('bible:tone');
    expect(storyText(doc)).toContain('Sam wrote shit here');
  });

  it('off (null moderation) outside classrooms', async () => {
    const doc = new Y.Doc();
    human(doc, 'x');
    typeParagraph(doc, 'shit');
    expect(await new HumanTextFlags({ moderation: async () => null, notify: () => undefined }).scan(doc)).toEqual([]);
  });
});

describe('moderation of instructions, human text flags and the teacher’s word list (real server and clients)', () => {
  let srv: TestServer;
  const members: Member[] = [];
  const member = async (room: RoomResponse): Promise<Member> => {
    const m = await connectMember(srv.port, room.room.id, room.token, room.member.id);
    members.push(m);
    return m;
  };
  beforeAll(async () => {
    srv = await startServer({ agent: { generation: { maxTokens: 6, deadlineMs: 60_000 } } });
  });
  afterAll(async () => {
    for (const m of members) m.close();
    await srv.close();
    removeDir(srv.dataDir);
  });

  it('classroom: an instruction with a listed word is refused; a student’s word is flagged to the teacher only; words the teacher adds apply at once', async () => {
    const teacher = await createRoom(srv.http, 'classroom', 'Teacher');
    const sam = await joinRoom(srv.http, teacher.room.joinCode, 'Sam');
    const [o, s] = [await member(teacher), await member(sam)];
    const toTeacher: ModerationFlag[] = [];
    const toStudent: ModerationFlag[] = [];
    o.socket.on('moderation:flagged', (f: ModerationFlag) => toTeacher.push(f));
    s.socket.on('moderation:flagged', (f: ModerationFlag) => toStudent.push(f));
    const t = typeParagraph(s.doc, 'Sam writes a shit sentence.');
    await waitFor(() => toTeacher.length === 1, 10_000, 'flag at the teacher');
    expect(toTeacher[0]).toMatchObject({ memberId: sam.member.id, displayName: 'Sam', where: 'story', word: 'shit' });
    expect(toTeacher[0]!.excerpt).toContain('shit');
    // Flagged, not blocked: the text is in the story.
    await waitFor(() => storyText(o.doc).includes('shit sentence'), 5000, 'text synced');
    expect(await call(o.socket, 'moderation:flags', {})).toMatchObject({ ok: true, flags: [{ word: 'shit' }] });
    expect(await call(s.socket, 'moderation:flags', {})).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await call(o.socket, 'moderation:flags', { x: 1 })).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });

    const ask = (instruction: string) => call<Ack<{ proposal: ProposalInfo }>>(s.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 1, instruction });
    expect(await ask('make it fucking scary')).toMatchObject({ ok: false, error: { code: 'invalid_payload', message: expect.stringContaining('"fucking"') } });
    expect((await ask('make it about a grapefruit')).ok).toBe(true);

    // The teacher's list: validated, stored with the room, applied at once.
    const patch = (body: unknown) => api<{ settings: { blockedWords?: string[] } }>(srv.http, 'PATCH', `/api/rooms/${teacher.room.id}/settings`, body, teacher.token);
    for (const bad of [{ blockedWords: 'grapefruit' }, { blockedWords: ['x'] }, { blockedWords: ['<b>'] }, { blockedWords: Array.from({ length: 201 }, (_, i) => `w${i}x`) }]) {
      expect((await patch(bad)).status).toBe(400);
    }
    expect((await api(srv.http, 'PATCH', `/api/rooms/${teacher.room.id}/settings`, { blockedWords: ['nope'] }, sam.token)).status).toBe(403);
    const saved = await patch({ blockedWords: ['Grapefruit'] });
    expect(saved.status).toBe(200);
    expect(saved.body.settings.blockedWords).toEqual(['grapefruit']);
    expect(await ask('make it about a grapefruit')).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    typeParagraph(s.doc, 'A grapefruit rolled away.');
    await waitFor(() => toTeacher.some((f) => f.word === 'grapefruit'), 10_000, 'new word flagged');
    expect(toStudent).toEqual([]);
    const room = await api<{ room: { settings: { blockedWords?: string[] } } }>(srv.http, 'GET', `/api/rooms/${teacher.room.id}`, undefined, teacher.token);
    expect(room.body.room.settings.blockedWords).toEqual(['grapefruit']);
    const asStudent = await api<{ room: { settings: Record<string, unknown> } }>(srv.http, 'GET', `/api/rooms/${teacher.room.id}`, undefined, sam.token);
    expect(asStudent.status).toBe(200);
    expect(asStudent.body.room.settings).not.toHaveProperty('blockedWords');
  }, 120_000);

  it('writers’ room: members’ text is their own (no flags)', async () => {
    const owner = await createRoom(srv.http, 'writers-room', 'Wanda');
    const ed = await joinRoom(srv.http, owner.room.joinCode, 'Ed');
    const [o, e] = [await member(owner), await member(ed)];
    const got: ModerationFlag[] = [];
    o.socket.on('moderation:flagged', (f: ModerationFlag) => got.push(f));
    typeParagraph(e.doc, 'Ed says shit.');
    await waitFor(() => storyText(o.doc).includes('shit'), 5000, 'sync');
    await new Promise((r) => setTimeout(r, 600));
    expect(got).toEqual([]);
  }, 60_000);
});
