import fs from 'node:fs';
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { CLOSE_CODES } from '../../shared/src/index';
import { JwtTokenService } from '../../server/src/auth/tokens';
import { closeCode, connectClient, createRoom, joinRoom, openRaw, sleep, startServer, waitFor, type TestServer } from '../helpers/index';

describe('sync endpoint refuses bad upgrades before the websocket opens', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  const refused = async (url: string) => {
    const outcome = await openRaw(url);
    if (outcome.kind === 'open') {
      outcome.socket.close();
      throw new Error(`upgrade to ${url} was accepted`);
    }
    return outcome;
  };

  it('malformed room id → 400', async () => {
    const { token } = await createRoom(server.url);
    expect((await refused(`${server.syncUrl}/bad!id?token=${token}`)).status).toBe(400);
    expect((await refused(`${server.syncUrl}/short?token=${token}`)).status).toBe(400);
    expect((await refused(`${server.syncUrl}/%E0%A4%A?token=${token}`)).status).toBe(400);
  });

  it('missing, forged or expired token → 401; other room → 403; unknown room → 404', async () => {
    const a = await createRoom(server.url);
    const b = await createRoom(server.url);
    expect((await refused(`${server.syncUrl}/${a.room.id}`)).status).toBe(401);
    const forged = new JwtTokenService('x'.repeat(48), 3600);
    const claims = { roomId: a.room.id, memberId: a.member.id, displayName: 'Mallory', role: 'owner' as const };
    expect((await refused(`${server.syncUrl}/${a.room.id}?token=${await forged.sign(claims)}`)).status).toBe(401);
    expect((await refused(`${server.syncUrl}/${a.room.id}?token=${a.token}x`)).status).toBe(401);
    const expiredSigner = new JwtTokenService(server.config.ENSEMBLE_TOKEN_SECRET ?? readSecret(server), -10);
    const expired = await refused(`${server.syncUrl}/${a.room.id}?token=${await expiredSigner.sign(claims)}`);
    expect(expired.status).toBe(401);
    expect(expired.body).toContain('expired');
    expect((await refused(`${server.syncUrl}/${a.room.id}?token=${b.token}`)).status).toBe(403);
    const ghost = 'NoSuchRoom123456';
    const ghostToken = await server.server.context.tokens.sign({ ...claims, roomId: ghost });
    expect((await refused(`${server.syncUrl}/${ghost}?token=${ghostToken}`)).status).toBe(404);
    // None of these loaded a document.
    expect(server.server.registry.size).toBe(0);
  });

  it("a viewer's updates are never applied; the viewer still syncs and shares awareness", async () => {
    const owner = await createRoom(server.url);
    const viewer = await joinRoom(server.url, owner.room.joinCode, 'Watcher', 'viewer');
    expect(viewer.member.role).toBe('viewer');
    const w = connectClient(server.syncUrl, owner.room.id, owner.token);
    const v = connectClient(server.syncUrl, owner.room.id, viewer.token);
    await Promise.all([w.synced, v.synced]);

    // Raw viewer socket: an update is answered with permission-denied, and the socket stays open.
    const raw = await openRaw(`${server.syncUrl}/${owner.room.id}?token=${viewer.token}`);
    if (raw.kind !== 'open') throw new Error('viewer refused');
    const replies: Uint8Array[] = [];
    raw.socket.on('message', (data: Buffer) => replies.push(new Uint8Array(data)));
    const scratch = new Y.Doc();
    scratch.getText('t').insert(0, 'vandalism');
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, 0);
    syncProtocol.writeUpdate(enc, Y.encodeStateAsUpdate(scratch));
    raw.socket.send(encoding.toUint8Array(enc));
    await waitFor(() => replies.some((m) => m[0] === 2 && m[1] === 0), { message: 'permission denied reply' });
    expect(raw.socket.readyState).toBe(1);

    // Stock viewer client edits locally: nobody else sees it.
    v.doc.getText('t').insert(0, 'viewer text');
    w.doc.getText('t').insert(0, 'writer text');
    await waitFor(() => v.doc.getText('t').toString().includes('writer text'));
    v.provider.awareness.setLocalStateField('user', { name: 'Watcher' });
    await waitFor(() => [...w.provider.awareness.getStates().values()].some((s) => (s.user as { name?: string } | undefined)?.name === 'Watcher'));
    await sleep(100);
    expect(w.doc.getText('t').toString()).toBe('writer text');
    expect(server.server.registry.peek(owner.room.id)?.doc.getText('t').toString()).toBe('writer text');
    raw.socket.close();
    w.destroy();
    v.destroy();
  });

  it('a document that cannot be loaded closes clients with 4500 and is never overwritten', async () => {
    const owner = await createRoom(server.url);
    const writer = connectClient(server.syncUrl, owner.room.id, owner.token);
    await writer.synced;
    writer.doc.getText('t').insert(0, 'precious');
    await waitFor(() => server.server.registry.peek(owner.room.id)?.doc.getText('t').toString() === 'precious');
    writer.destroy();
    await waitFor(() => server.server.registry.peek(owner.room.id) === undefined);
    await server.server.registry.settled();
    const store = server.store.documents as unknown as { loadDocument: (id: string) => Promise<unknown> };
    const original = store.loadDocument;
    store.loadDocument = async () => {
      throw new Error('disk on fire');
    };
    try {
      const raw = await openRaw(`${server.syncUrl}/${owner.room.id}?token=${owner.token}`);
      if (raw.kind !== 'open') throw new Error('refused');
      expect(await closeCode(raw.socket)).toBe(CLOSE_CODES.loadFailed);
      expect(server.server.registry.peek(owner.room.id)).toBeUndefined();
    } finally {
      store.loadDocument = original;
    }
    const reader = connectClient(server.syncUrl, owner.room.id, owner.token);
    await reader.synced;
    expect(reader.doc.getText('t').toString()).toBe('precious');
    reader.destroy();
  });
});

/** The generated secret kept in the data dir. */
function readSecret(server: TestServer): string {
  return fs.readFileSync(`${server.dataDir}/token-secret`, 'utf8').trim();
}
