import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiError, RoomResponse, RoomSettings, VersionInfo } from '../../shared/src/index';
import { storyOf } from '../../shared/src/index';
import * as Y from 'yjs';
import { JwtTokenService } from '../../server/src/auth/tokens';
import { api, connectClient, createRoom, joinRoom, startServer, waitConverged, waitFor, type TestServer } from '../helpers/index';

describe('rooms REST API', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('creates a room (owner), joins by code, reads it with a token', async () => {
    const created = await api<RoomResponse>(server.url, 'POST', '/api/rooms', { body: { name: '  The Heist ', kind: 'classroom', displayName: 'Ada' } });
    expect(created.status).toBe(201);
    const { room, member, token } = created.body;
    expect(room.name).toBe('The Heist');
    expect(room.kind).toBe('classroom');
    expect(room.joinCode).toMatch(/^[A-Z0-9]{6,12}$/);
    expect(room.settings.moderation).toBe(true);
    expect(member.role).toBe('owner');
    expect((await server.server.context.tokens.verify(token)).role).toBe('owner');

    const joined = await joinRoom(server.url, room.joinCode.toLowerCase(), 'Bob');
    expect(joined.member.role).toBe('editor');
    expect(joined.room.id).toBe(room.id);

    const got = await api<{ room: { id: string }; member: { displayName: string } }>(server.url, 'GET', `/api/rooms/${room.id}`, { token: joined.token });
    expect(got.status).toBe(200);
    expect(got.body.member.displayName).toBe('Bob');
  });

  it('token-guarded routes: 401 without/with a bad token, 403 for another room', async () => {
    const a = await createRoom(server.url);
    const b = await createRoom(server.url);
    expect((await api(server.url, 'GET', `/api/rooms/${a.room.id}`)).status).toBe(401);
    const forged = await new JwtTokenService('y'.repeat(40), 60).sign({ roomId: a.room.id, memberId: 'm', displayName: 'x', role: 'owner' });
    const bad = await api<ApiError>(server.url, 'GET', `/api/rooms/${a.room.id}`, { token: forged });
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('invalid_token');
    const other = await api<ApiError>(server.url, 'GET', `/api/rooms/${a.room.id}`, { token: b.token });
    expect(other.status).toBe(403);
  });

  it('invalid bodies get specific 400s and change nothing', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/api/rooms', { name: '', kind: 'writers-room' }, 'name'],
      ['POST', '/api/rooms', { name: 'x', kind: 'podcast' }, 'kind'],
      ['POST', '/api/rooms', { name: 'x'.repeat(121), kind: 'storyboard' }, 'name'],
      ['POST', '/api/rooms/join', { joinCode: 'no', displayName: 'A' }, 'joinCode'],
      ['POST', '/api/rooms/join', { joinCode: 'ABCDEFGH' }, 'displayName'],
      ['POST', '/api/rooms/join', { joinCode: 'ABCDEFGH', displayName: 'A', role: 'owner' }, 'role'],
    ];
    for (const [method, url, body, field] of cases) {
      const res = await api<ApiError>(server.url, method, url, { body });
      expect(res.status, `${url} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.error.code).toBe('invalid_body');
      expect(res.body.error.issues?.some((i) => i.path === field)).toBe(true);
    }
    const badJson = await api<ApiError>(server.url, 'POST', '/api/rooms', { rawBody: '{"name": ' });
    expect(badJson.status).toBe(400);
    expect(badJson.body.error.code).toBe('invalid_json');
    const huge = await api<ApiError>(server.url, 'POST', '/api/rooms', { rawBody: JSON.stringify({ name: 'x'.repeat(400_000), kind: 'classroom' }) });
    expect(huge.status).toBe(413);
    const unknownCode = await api<ApiError>(server.url, 'POST', '/api/rooms/join', { body: { joinCode: 'ZZZZZZZZ', displayName: 'A' } });
    expect(unknownCode.status).toBe(404);
    expect(unknownCode.body.error.code).toBe('join_code_not_found');

    const owner = await createRoom(server.url);
    const patch = await api<ApiError>(server.url, 'PATCH', `/api/rooms/${owner.room.id}/settings`, { token: owner.token, body: { aiMode: 'maybe' } });
    expect(patch.status).toBe(400);
    expect(patch.body.error.issues?.[0]?.path).toBe('aiMode');
    const unknownKey = await api<ApiError>(server.url, 'PATCH', `/api/rooms/${owner.room.id}/settings`, { token: owner.token, body: { colour: 'red' } });
    expect(unknownKey.status).toBe(400);
    const after = await server.store.rooms.getRoom(owner.room.id);
    expect(after?.settings).toEqual(owner.room.settings);
    expect((await api(server.url, 'GET', '/api/nowhere')).status).toBe(404);
  });

  it('owner-only: settings and join codes; viewer-only codes grant viewer', async () => {
    const owner = await createRoom(server.url, { kind: 'writers-room' });
    const editor = await joinRoom(server.url, owner.room.joinCode, 'Ed');
    const denied = await api<ApiError>(server.url, 'PATCH', `/api/rooms/${owner.room.id}/settings`, { token: editor.token, body: { autoMode: true } });
    expect(denied.status).toBe(403);
    const patched = await api<{ settings: RoomSettings }>(server.url, 'PATCH', `/api/rooms/${owner.room.id}/settings`, {
      token: owner.token,
      body: { autoMode: true, aiMode: 'limited', aiUsesPerMember: 3 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.settings).toMatchObject({ autoMode: true, aiMode: 'limited', aiUsesPerMember: 3, moderation: false });
    expect((await server.store.rooms.getRoom(owner.room.id))?.settings.autoMode).toBe(true);

    expect((await api(server.url, 'POST', `/api/rooms/${owner.room.id}/join-codes`, { token: editor.token, body: { role: 'viewer' } })).status).toBe(403);
    const code = await api<{ joinCode: string; role: string }>(server.url, 'POST', `/api/rooms/${owner.room.id}/join-codes`, { token: owner.token, body: { role: 'viewer' } });
    expect(code.status).toBe(201);
    const viewer = await joinRoom(server.url, code.body.joinCode, 'Vi', 'editor');
    expect(viewer.member.role).toBe('viewer');
    // A viewer never learns a code that grants more.
    expect(viewer.room.joinCode).not.toBe(owner.room.joinCode);
    expect((await server.store.rooms.findJoinCode(viewer.room.joinCode))?.role).toBe('viewer');
  });

  it('versions: save, list, restore reaches every client', async () => {
    const owner = await createRoom(server.url);
    const guest = await joinRoom(server.url, owner.room.joinCode, 'Guest');
    const viewer = await joinRoom(server.url, owner.room.joinCode, 'Vi', 'viewer');
    const a = connectClient(server.syncUrl, owner.room.id, owner.token);
    const b = connectClient(server.syncUrl, owner.room.id, guest.token);
    await Promise.all([a.synced, b.synced]);
    const para = (text: string) => {
      const p = new Y.XmlElement('paragraph');
      p.insert(0, [new Y.XmlText(text)]);
      return p;
    };
    storyOf(a.doc).insert(0, [para('Once upon a time.')]);
    a.doc.getText('t').insert(0, 'draft one');
    await waitConverged([a.doc, b.doc], (d) => d.getText('t').toString());
    await waitFor(() => server.server.registry.peek(owner.room.id)?.doc.getText('t').toString() === 'draft one');
    const saved = await api<{ version: VersionInfo }>(server.url, 'POST', `/api/rooms/${owner.room.id}/versions`, { token: owner.token, body: { name: 'First draft' } });
    expect(saved.status).toBe(201);
    expect(saved.body.version.name).toBe('First draft');
    expect((await api(server.url, 'POST', `/api/rooms/${owner.room.id}/versions`, { token: viewer.token, body: { name: 'x' } })).status).toBe(403);
    expect((await api(server.url, 'POST', `/api/rooms/${owner.room.id}/versions`, { token: owner.token, body: {} })).status).toBe(400);

    storyOf(b.doc).insert(1, [para('It was a dark night.')]);
    b.doc.getText('t').insert(9, ', then two');
    await waitConverged([a.doc, b.doc], (d) => d.getText('t').toString() + storyOf(d).toString());
    expect(a.doc.getText('t').toString()).toBe('draft one, then two');

    const list = await api<{ versions: VersionInfo[] }>(server.url, 'GET', `/api/rooms/${owner.room.id}/versions`, { token: viewer.token });
    expect(list.body.versions.map((v) => v.name)).toEqual(['First draft']);
    const missing = await api(server.url, 'POST', `/api/rooms/${owner.room.id}/versions/nope/restore`, { token: owner.token });
    expect(missing.status).toBe(404);
    const restored = await api(server.url, 'POST', `/api/rooms/${owner.room.id}/versions/${saved.body.version.id}/restore`, { token: guest.token });
    expect(restored.status).toBe(200);
    for (const c of [a, b]) {
      await waitFor(() => c.doc.getText('t').toString() === 'draft one' && storyOf(c.doc).length === 1);
      expect(storyOf(c.doc).toString()).toContain('Once upon a time.');
    }
    // Clients keep editing on top of the restored state.
    a.doc.getText('t').insert(0, '> ');
    await waitFor(() => b.doc.getText('t').toString() === '> draft one');
    a.destroy();
    b.destroy();
  });

  it('health, metrics and the placeholder page', async () => {
    const health = await api<{ ok: boolean; store: string }>(server.url, 'GET', '/healthz');
    expect(health.body).toEqual({ ok: true, store: 'sqlite', role: 'all' });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of ['ensemble_connections', 'ensemble_rooms_loaded', 'ensemble_updates_total', 'ensemble_store_latency_seconds', 'ensemble_store_errors_total']) {
      expect(metrics).toContain(name);
    }
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Ensemble');
  });
});

describe('static client and rate limiting', () => {
  it('serves ENSEMBLE_CLIENT_DIR with an SPA fallback', async () => {
    const server = await startServer();
    await server.close();
    const clientDir = path.join(server.dataDir + '-client');
    fs.mkdirSync(path.join(clientDir, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(clientDir, 'index.html'), '<html>spa</html>');
    fs.writeFileSync(path.join(clientDir, 'assets', 'app.js'), 'console.log(1)');
    const withClient = await startServer({ env: { ENSEMBLE_CLIENT_DIR: clientDir } });
    try {
      expect(await (await fetch(`${withClient.url}/`)).text()).toBe('<html>spa</html>');
      expect(await (await fetch(`${withClient.url}/rooms/abc`)).text()).toBe('<html>spa</html>');
      expect(await (await fetch(`${withClient.url}/assets/app.js`)).text()).toBe('console.log(1)');
      expect((await fetch(`${withClient.url}/api/nothing`)).status).toBe(404);
    } finally {
      await withClient.close();
      fs.rmSync(clientDir, { recursive: true, force: true });
    }
  });

  it('room creation and joining are rate-limited per address (429)', async () => {
    const server = await startServer({ env: { ENSEMBLE_RATE_LIMIT_PER_MIN: '5' } });
    try {
      const first = await createRoom(server.url);
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        statuses.push((await api(server.url, 'POST', '/api/rooms/join', { body: { joinCode: first.room.joinCode, displayName: `p${i}` } })).status);
      }
      expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
      expect(statuses.slice(4)).toEqual([429, 429, 429, 429]);
      const limited = await api<ApiError>(server.url, 'POST', '/api/rooms', { body: { name: 'x', kind: 'classroom' } });
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe('rate_limited');
      // Reads are not limited.
      expect((await api(server.url, 'GET', `/api/rooms/${first.room.id}`, { token: first.token })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
