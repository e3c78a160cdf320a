import fs from 'node:fs';
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorsOf } from '../../shared/src/index';
import type { Extension, LoadedRoom, ServerContext } from '../../server/src/ports';
import { claimsOf } from '../../server/src/auth/middleware';
import { JwtTokenService, resolveTokenSecret } from '../../server/src/auth/tokens';
import { api, connectClient, createRoom, startServer, tempDataDir, waitFor, type TestServer } from '../helpers/index';

/** What an extension (like the AI agent) does with the context. */
class ProbeExtension implements Extension {
  readonly name = 'probe';
  ctx!: ServerContext;
  events: string[] = [];
  stopped = false;
  start(ctx: ServerContext): void {
    this.ctx = ctx;
    ctx.documents.on('loaded', (room: LoadedRoom) => this.events.push(`loaded:${room.roomId}`));
    ctx.documents.on('empty', (room: LoadedRoom) => this.events.push(`empty:${room.roomId}`));
    ctx.documents.on('unloaded', (roomId: string) => this.events.push(`unloaded:${roomId}`));
    ctx.api.get('/rooms/:id/probe', ctx.requireToken, (_req, res) => {
      res.json({ member: claimsOf(res).memberId });
    });
  }
  stop(): void {
    this.stopped = true;
  }
}

describe('extension context', () => {
  const probe = new ProbeExtension();
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ extensions: [probe] });
  });
  afterAll(async () => {
    await server?.close();
    expect(probe.stopped).toBe(true);
  });

  it('extensions add token-guarded routes and see document events', async () => {
    const owner = await createRoom(server.url);
    const res = await api<{ member: string }>(server.url, 'GET', `/api/rooms/${owner.room.id}/probe`, { token: owner.token });
    expect(res.body.member).toBe(owner.member.id);
    expect((await api(server.url, 'GET', `/api/rooms/${owner.room.id}/probe`)).status).toBe(401);

    const c = connectClient(server.syncUrl, owner.room.id, owner.token);
    await c.synced;
    c.destroy();
    await waitFor(() => probe.events.includes(`unloaded:${owner.room.id}`));
    expect(probe.events).toEqual([`loaded:${owner.room.id}`, `empty:${owner.room.id}`, `unloaded:${owner.room.id}`]);
  });

  it('an extension writes into a pinned document: clients receive it and it is stored', async () => {
    const owner = await createRoom(server.url);
    const c = connectClient(server.syncUrl, owner.room.id, owner.token);
    await c.synced;
    const room = await probe.ctx.documents.acquire(owner.room.id);
    room.doc.transact(() => {
      room.doc.getText('t').insert(0, 'from the agent');
      authorsOf(room.doc).set(String(room.doc.clientID), { memberId: 'agent', displayName: 'AI', kind: 'agent' });
    }, 'agent');
    await waitFor(() => c.doc.getText('t').toString() === 'from the agent');
    expect(authorsOf(c.doc).get(String(room.doc.clientID))?.kind).toBe('agent');
    c.destroy();
    await waitFor(() => room.connectionCount === 0);
    expect(probe.ctx.documents.peek(owner.room.id)).toBe(room); // still pinned
    probe.ctx.documents.release(owner.room.id);
    await waitFor(() => probe.ctx.documents.peek(owner.room.id) === undefined);
    await server.server.registry.settled();
    const stored = await server.store.documents.loadDocument(owner.room.id);
    const doc = new Y.Doc();
    if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
    for (const u of stored.updates) Y.applyUpdate(doc, u.data);
    expect(doc.getText('t').toString()).toBe('from the agent');
  });
});

describe('token secret', () => {
  it('is generated once, kept with mode 0600, and reused', async () => {
    const dir = tempDataDir();
    try {
      const a = resolveTokenSecret({ ENSEMBLE_DATA_DIR: dir, ENSEMBLE_TOKEN_SECRET: undefined });
      const b = resolveTokenSecret({ ENSEMBLE_DATA_DIR: dir, ENSEMBLE_TOKEN_SECRET: undefined });
      expect(a).toBe(b);
      expect(a.length).toBeGreaterThanOrEqual(32);
      expect(fs.statSync(`${dir}/token-secret`).mode & 0o777).toBe(0o600);
      expect(resolveTokenSecret({ ENSEMBLE_DATA_DIR: dir, ENSEMBLE_TOKEN_SECRET: 'z'.repeat(32) })).toBe('z'.repeat(32));
      const tokens = new JwtTokenService(a, 60);
      const claims = { roomId: 'room-0001', memberId: 'm1', displayName: 'Ann', role: 'editor' as const };
      expect(await tokens.verify(await tokens.sign(claims))).toEqual(claims);
      await expect(new JwtTokenService(a, -5).sign(claims).then((t) => tokens.verify(t))).rejects.toMatchObject({ code: 'expired_token' });
      await expect(tokens.verify('not.a.jwt')).rejects.toMatchObject({ code: 'invalid_token' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
