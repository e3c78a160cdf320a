import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES, draftDocName, storyOf, storyText, type RoomResponse } from '../../shared/src/index';
import { typeParagraph } from '../agent/harness';
import { api, connectClient, createRoom, joinRoom, startServer, waitFor, WebSocket, type TestClient, type TestServer } from '../helpers/index';

/** A raw socket to the sync endpoint, recording how it ended and whether any frame came first. */
function rawDraftSocket(url: string): Promise<{ opened: boolean; code: number; reason: string; frames: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    let opened = false;
    let frames = 0;
    socket.on('open', () => (opened = true));
    socket.on('message', () => frames++);
    socket.on('close', (code: number, reason: Buffer) => resolve({ opened, code, reason: reason.toString(), frames }));
    socket.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)));
    socket.on('error', reject);
  });
}


/** Assignment mode over real websockets: a student's draft is theirs and the teacher's, no one else's. */
describe('student drafts: access control in the sync endpoint', () => {
  let server: TestServer;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    server = await startServer({ env: { ENSEMBLE_FLUSH_MS: '10' } });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server?.close();
  });
  const client = (name: string, token: string) => {
    const c = connectClient(server.syncUrl, name, token);
    clients.push(c);
    return c;
  };
  const setAssignment = (teacher: RoomResponse, on: boolean) => api(server.url, 'PATCH', `/api/rooms/${teacher.room.id}/settings`, { body: { assignmentMode: on }, token: teacher.token });

  let teacher: RoomResponse;
  let ada: RoomResponse;
  let ben: RoomResponse;
  beforeAll(async () => {
    teacher = await createRoom(server.url, { kind: 'classroom', displayName: 'Ms Tan' });
    ada = await joinRoom(server.url, teacher.room.joinCode, 'Ada');
    ben = await joinRoom(server.url, teacher.room.joinCode, 'Ben');
    expect((await setAssignment(teacher, true)).status).toBe(200);
  });

  it('the student and the teacher share the draft live; it is a document apart from the shared story', async () => {
    const adaDraft = client(draftDocName(teacher.room.id, ada.member.id), ada.token);
    await adaDraft.synced;
    typeParagraph(adaDraft.doc, 'Ada drafts alone.');
    const teacherView = client(draftDocName(teacher.room.id, ada.member.id), teacher.token);
    await teacherView.synced;
    await waitFor(() => storyText(teacherView.doc).includes('Ada drafts alone.'), { message: 'teacher sees the draft' });
    typeParagraph(teacherView.doc, 'Teacher: good start.');
    await waitFor(() => storyText(adaDraft.doc).includes('Teacher: good start.'), { message: 'student sees the teacher’s note' });

    const shared = client(teacher.room.id, ada.token);
    await shared.synced;
    expect(storyText(shared.doc)).not.toContain('Ada drafts');
    typeParagraph(shared.doc, 'The shared story.');
    await waitFor(() => server.server.registry.peek(teacher.room.id)?.doc !== undefined && storyText(server.server.registry.peek(teacher.room.id)!.doc).includes('shared story'));
    expect(storyText(adaDraft.doc)).not.toContain('shared story');
  });

  it('another student is refused with close code 4403 before any byte of the draft, and a stock provider stops retrying', async () => {
    const url = `${server.syncUrl}/${draftDocName(teacher.room.id, ada.member.id)}?token=${ben.token}`;
    const outcome = await rawDraftSocket(url);
    expect(outcome).toEqual({ opened: true, code: CLOSE_CODES.draftForbidden, reason: "a student's draft is open only to that student and the teacher", frames: 0 });

    const benPeek = connectClient(server.syncUrl, draftDocName(teacher.room.id, ada.member.id), ben.token, { maxBackoffTime: 50 });
    clients.push(benPeek);
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => benPeek.provider.once('closed', (e: { code: number; reason: string }) => resolve(e)));
    expect(closed.code).toBe(CLOSE_CODES.draftForbidden);
    await new Promise((r) => setTimeout(r, 300));
    expect(benPeek.provider.wsconnected || benPeek.provider.wsconnecting).toBe(false);
    expect(storyText(benPeek.doc)).toBe('');

    // Ben's own draft is his; the teacher has none (drafts are students'); a bad name is a 400.
    const benOwn = client(draftDocName(teacher.room.id, ben.member.id), ben.token);
    await benOwn.synced;
    expect(storyText(benOwn.doc)).toBe('');
    expect((await rawDraftSocket(`${server.syncUrl}/${draftDocName(teacher.room.id, teacher.member.id)}?token=${teacher.token}`)).reason).toBe('no student with that id in this room');
    await expect(rawDraftSocket(`${server.syncUrl}/${teacher.room.id}/drafts/${ada.member.id}?token=${ada.token}`)).rejects.toThrow(/HTTP 400/);
  });

  it('the draft is stored: it survives every client leaving and the document unloading', async () => {
    const name = draftDocName(teacher.room.id, ben.member.id);
    const first = client(name, ben.token);
    await first.synced;
    typeParagraph(first.doc, 'Ben keeps this.');
    await waitFor(() => storyText(server.server.registry.peek(name)?.doc ?? new Y.Doc()).includes('Ben keeps this.'));
    for (const c of clients.splice(0)) c.destroy();
    await waitFor(() => server.server.registry.peek(name) === undefined, { timeoutMs: 10_000, message: 'draft unloaded' });
    const again = client(name, ben.token);
    await again.synced;
    expect(storyText(again.doc)).toContain('Ben keeps this.');
  });

  it('assignment mode off: the students’ draft connections close with 4403 and they are refused; the teacher still reads them', async () => {
    const name = draftDocName(teacher.room.id, ada.member.id);
    const adaDraft = client(name, ada.token);
    await adaDraft.synced;
    const closed = new Promise<{ code: number }>((resolve) => adaDraft.provider.once('closed', (e: { code: number }) => resolve(e)));
    const teacherView = client(name, teacher.token);
    await teacherView.synced;
    expect((await setAssignment(teacher, false)).status).toBe(200);
    expect((await closed).code).toBe(CLOSE_CODES.draftForbidden);
    expect((await rawDraftSocket(`${server.syncUrl}/${name}?token=${ada.token}`)).reason).toBe('assignment mode is off in this room');
    expect(teacherView.provider.wsconnected).toBe(true);
    expect(storyText(teacherView.doc)).toContain('Ada drafts alone.');
  });

  it('assignment mode is for classrooms only', async () => {
    const writers = await createRoom(server.url, { kind: 'writers-room' });
    const res = await api(server.url, 'PATCH', `/api/rooms/${writers.room.id}/settings`, { body: { assignmentMode: true }, token: writers.token });
    expect(res.status).toBe(409);
    expect(JSON.stringify(res.body)).toContain('not_classroom');
    const member = await joinRoom(server.url, writers.room.joinCode, 'Wes');
    expect((await rawDraftSocket(`${server.syncUrl}/${draftDocName(writers.room.id, member.member.id)}?token=${member.token}`)).reason).toBe('drafts exist only in classroom rooms');
  });
});
