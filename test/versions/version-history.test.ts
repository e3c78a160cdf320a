import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { storyOf, storyText, type ApiError, type DeleteVersionResponse, type VersionInfo, type VersionPreviewResponse } from '../../shared/src/index';
import { api, connectClient, createRoom, joinRoom, startServer, waitFor, type TestClient, type TestServer } from '../helpers/index';

/** Issue 13: reading a version before restoring it (preview + diff), renaming, deleting, the automatic version before a restore. */
describe('version history REST', () => {
  let server: TestServer;
  beforeAll(async () => {
    // The schedule off: this suite counts versions exactly.
    server = await startServer({ env: { ENSEMBLE_SNAPSHOT_INTERVAL_MS: '0' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  const paragraph = (text: string) => {
    const p = new Y.XmlElement('paragraph');
    p.insert(0, [new Y.XmlText(text)]);
    return p;
  };
  /** The server's copy of the room shows `text` (so a version saved now holds it). */
  const serverShows = (roomId: string, text: string) =>
    waitFor(() => {
      const room = server.server.registry.peek(roomId);
      return room !== undefined && storyText(room.doc) === text;
    }, { message: `server story = ${JSON.stringify(text)}` });

  async function roomWithStory(): Promise<{ owner: Awaited<ReturnType<typeof createRoom>>; editor: Awaited<ReturnType<typeof joinRoom>>; viewer: Awaited<ReturnType<typeof joinRoom>>; client: TestClient }> {
    const owner = await createRoom(server.url);
    const editor = await joinRoom(server.url, owner.room.joinCode, 'Eve');
    const viewer = await joinRoom(server.url, owner.room.joinCode, 'Vic', 'viewer');
    const client = connectClient(server.syncUrl, owner.room.id, owner.token);
    await client.synced;
    return { owner, editor, viewer, client };
  }

  const versionsPath = (roomId: string) => `/api/rooms/${roomId}/versions`;

  it('previews a version: its paragraphs and the word diff from the current story; viewers may read it', async () => {
    const { owner, viewer, client } = await roomWithStory();
    const story = storyOf(client.doc);
    story.insert(0, [paragraph('The fox ran into the wood.'), paragraph('Night fell.')]);
    await serverShows(owner.room.id, 'The fox ran into the wood.\nNight fell.');
    const saved = await api<{ version: VersionInfo }>(server.url, 'POST', versionsPath(owner.room.id), { token: owner.token, body: { name: 'Draft one' } });
    expect(saved.status).toBe(201);
    expect(saved.body.version).toMatchObject({ name: 'Draft one', kind: 'manual', createdBy: owner.member.id });

    const unchanged = await api<VersionPreviewResponse>(server.url, 'GET', `${versionsPath(owner.room.id)}/${saved.body.version.id}/preview`, { token: viewer.token });
    expect(unchanged.status).toBe(200);
    expect(unchanged.body).toEqual({
      version: saved.body.version,
      paragraphs: ['The fox ran into the wood.', 'Night fell.'],
      diff: [{ op: 'equal', text: 'The fox ran into the wood.\nNight fell.' }],
      changed: false,
    });

    // Change one word, drop the second paragraph, add another.
    client.doc.transact(() => {
      const first = (story.get(0) as Y.XmlElement).get(0) as Y.XmlText;
      first.delete(4, 3);
      first.insert(4, 'hare');
      story.delete(1, 1);
      story.insert(1, [paragraph('Morning came.')]);
    });
    await serverShows(owner.room.id, 'The hare ran into the wood.\nMorning came.');
    const preview = await api<VersionPreviewResponse>(server.url, 'GET', `${versionsPath(owner.room.id)}/${saved.body.version.id}/preview`, { token: owner.token });
    expect(preview.status).toBe(200);
    expect(preview.body.paragraphs).toEqual(['The fox ran into the wood.', 'Night fell.']);
    expect(preview.body.changed).toBe(true);
    const { diff } = preview.body;
    // The diff's two sides rebuild the current story and the version's exactly.
    expect(diff.filter((p) => p.op !== 'insert').map((p) => p.text).join('')).toBe('The hare ran into the wood.\nMorning came.');
    expect(diff.filter((p) => p.op !== 'delete').map((p) => p.text).join('')).toBe('The fox ran into the wood.\nNight fell.');
    // Word level: the changed words are their own runs, the rest is equal.
    expect(diff.filter((p) => p.op === 'delete').map((p) => p.text)).toEqual(['hare', 'Morning came']);
    expect(diff.filter((p) => p.op === 'insert').map((p) => p.text)).toEqual(['fox', 'Night fell']);
    expect(diff[0]).toEqual({ op: 'equal', text: 'The ' });
    client.destroy();
  });

  it('renames and deletes (owners and editors), refuses viewers (403), unknown ids (404) and bad names (400) with clear messages', async () => {
    const { owner, editor, viewer, client } = await roomWithStory();
    storyOf(client.doc).insert(0, [paragraph('A beginning.')]);
    await serverShows(owner.room.id, 'A beginning.');
    const saved = await api<{ version: VersionInfo }>(server.url, 'POST', versionsPath(owner.room.id), { token: owner.token, body: { name: 'First' } });
    const id = saved.body.version.id;
    const one = `${versionsPath(owner.room.id)}/${id}`;

    const renamed = await api<{ version: VersionInfo }>(server.url, 'PATCH', one, { token: editor.token, body: { name: '  Chapter one  ' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.version).toEqual({ ...saved.body.version, name: 'Chapter one' });
    const list = await api<{ versions: VersionInfo[] }>(server.url, 'GET', versionsPath(owner.room.id), { token: viewer.token });
    expect(list.body.versions.map((v) => v.name)).toEqual(['Chapter one']);

    const refused = await api<ApiError>(server.url, 'PATCH', one, { token: viewer.token, body: { name: 'Mine' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe('viewers cannot rename versions');
    const refusedDelete = await api<ApiError>(server.url, 'DELETE', one, { token: viewer.token });
    expect(refusedDelete.status).toBe(403);
    expect(refusedDelete.body.error.message).toBe('viewers cannot delete versions');
    expect((await api(server.url, 'PATCH', one, { body: { name: 'x' } })).status).toBe(401);
    expect((await api(server.url, 'DELETE', one)).status).toBe(401);
    const other = await createRoom(server.url);
    expect((await api(server.url, 'DELETE', one, { token: other.token })).status).toBe(403);
    // Another room's token cannot reach this version through its own room either.
    expect((await api(server.url, 'DELETE', `${versionsPath(other.room.id)}/${id}`, { token: other.token })).status).toBe(404);

    const badBodies: Array<[unknown, string]> = [
      [{}, 'name: '],
      [{ name: '   ' }, 'name: name must not be empty'],
      [{ name: 'x'.repeat(121) }, 'name: name must be at most 120 characters'],
      [{ name: 7 }, 'name: '],
    ];
    for (const [body, message] of badBodies) {
      const bad = await api<ApiError>(server.url, 'PATCH', one, { token: owner.token, body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.body.error.code).toBe('invalid_body');
      expect(bad.body.error.message.startsWith(message), bad.body.error.message).toBe(true);
    }
    const longId = await api<ApiError>(server.url, 'PATCH', `${versionsPath(owner.room.id)}/${'v'.repeat(65)}`, { token: owner.token, body: { name: 'x' } });
    expect(longId.status).toBe(400);
    expect(longId.body.error).toEqual({ code: 'invalid_params', message: 'version id must be 1 to 64 characters' });
    for (const [method, suffix] of [['PATCH', ''], ['DELETE', ''], ['GET', '/preview'], ['POST', '/restore']] as const) {
      const missing = await api<ApiError>(server.url, method, `${versionsPath(owner.room.id)}/nope${suffix}`, { token: owner.token, body: method === 'PATCH' ? { name: 'x' } : undefined });
      expect(missing.status, `${method} ${suffix}`).toBe(404);
      expect(missing.body.error).toEqual({ code: 'version_not_found', message: 'no such version in this room' });
    }
    expect((await api<{ versions: VersionInfo[] }>(server.url, 'GET', versionsPath(owner.room.id), { token: owner.token })).body.versions.map((v) => v.name)).toEqual(['Chapter one']);

    const deleted = await api<DeleteVersionResponse>(server.url, 'DELETE', one, { token: editor.token });
    expect(deleted.status).toBe(200);
    expect(deleted.body.deleted).toEqual(renamed.body.version);
    expect((await api<{ versions: VersionInfo[] }>(server.url, 'GET', versionsPath(owner.room.id), { token: owner.token })).body.versions).toEqual([]);
    expect((await api(server.url, 'DELETE', one, { token: editor.token })).status).toBe(404);
    expect((await api(server.url, 'GET', `${one}/preview`, { token: editor.token })).status).toBe(404);
    client.destroy();
  });

  it('a restore first saves the current story as an automatic “Before restore of …” version, which restores it back', async () => {
    const { owner, editor, viewer, client } = await roomWithStory();
    storyOf(client.doc).insert(0, [paragraph('Version A text.')]);
    await serverShows(owner.room.id, 'Version A text.');
    const a = (await api<{ version: VersionInfo }>(server.url, 'POST', versionsPath(owner.room.id), { token: owner.token, body: { name: 'A' } })).body.version;
    storyOf(client.doc).insert(1, [paragraph('Written after A.')]);
    await serverShows(owner.room.id, 'Version A text.\nWritten after A.');

    expect((await api(server.url, 'POST', `${versionsPath(owner.room.id)}/${a.id}/restore`, { token: viewer.token })).status).toBe(403);
    const restored = await api(server.url, 'POST', `${versionsPath(owner.room.id)}/${a.id}/restore`, { token: editor.token });
    expect(restored.status).toBe(200);
    await waitFor(() => storyText(client.doc) === 'Version A text.', { message: 'restore reached the client' });

    const versions = (await api<{ versions: VersionInfo[] }>(server.url, 'GET', versionsPath(owner.room.id), { token: owner.token })).body.versions;
    expect(versions.map((v) => [v.name, v.kind])).toEqual([['Before restore of A', 'auto'], ['A', 'manual']]);
    const before = versions[0]!;
    expect(before.createdBy).toBe(editor.member.id);
    const preview = (await api<VersionPreviewResponse>(server.url, 'GET', `${versionsPath(owner.room.id)}/${before.id}/preview`, { token: owner.token })).body;
    expect(preview.paragraphs).toEqual(['Version A text.', 'Written after A.']);
    expect(preview.diff.filter((p) => p.op === 'insert').map((p) => p.text.trim())).toEqual(['Written after A.']);

    // Undoing the restore: restoring the automatic version brings the later text back.
    expect((await api(server.url, 'POST', `${versionsPath(owner.room.id)}/${before.id}/restore`, { token: owner.token })).status).toBe(200);
    await waitFor(() => storyText(client.doc) === 'Version A text.\nWritten after A.', { message: 'undo of the restore reached the client' });
    const after = (await api<{ versions: VersionInfo[] }>(server.url, 'GET', versionsPath(owner.room.id), { token: owner.token })).body.versions;
    expect(after.map((v) => v.name)).toEqual(['Before restore of Before restore of A', 'Before restore of A', 'A']);
    client.destroy();
  });
});
