import type { Socket } from 'node:net';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_COLOR, AGENT_DISPLAY_NAME, AGENT_MEMBER_ID, CLOSE_CODES } from '../../shared/src/index';
import { presenceList } from '../../client/src/lib/presence';
import {
  closeCode,
  collectGarbage,
  connectClient,
  createRoom,
  joinRoom,
  startServer,
  waitFor,
  type TestClient,
  type TestServer,
  WebSocket,
} from '../helpers/index';

/** The server's default limit on one serialized state (ENSEMBLE_MAX_AWARENESS_BYTES). */
const MAX_STATE_BYTES = 8192;

interface Entry {
  clientId: number;
  clock: number;
  state: unknown;
}

/** A hand-written awareness frame: [1][varUint8Array [count]([clientId][clock][JSON state])*]. */
function awarenessFrame(...entries: Entry[]): Uint8Array {
  const inner = encoding.createEncoder();
  encoding.writeVarUint(inner, entries.length);
  for (const e of entries) {
    encoding.writeVarUint(inner, e.clientId);
    encoding.writeVarUint(inner, e.clock);
    encoding.writeVarString(inner, JSON.stringify(e.state));
  }
  const outer = encoding.createEncoder();
  encoding.writeVarUint(outer, 1);
  encoding.writeVarUint8Array(outer, encoding.toUint8Array(inner));
  return encoding.toUint8Array(outer);
}

const QUERY_AWARENESS = new Uint8Array([3]);

/** Sync step 1 with an empty state vector: the server answers with the whole document. */
function emptyStep1(): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, 0);
  encoding.writeVarUint(enc, syncProtocol.messageYjsSyncStep1);
  encoding.writeVarUint8Array(enc, Y.encodeStateVector(new Y.Doc()));
  return encoding.toUint8Array(enc);
}

/** The entries of an awareness frame the server sent (null for other frames). */
function receivedEntries(message: Uint8Array): Array<{ clientId: number; clock: number; json: string }> | null {
  const outer = decoding.createDecoder(message);
  if (decoding.readVarUint(outer) !== 1) return null;
  const decoder = decoding.createDecoder(decoding.readVarUint8Array(outer));
  const entries = [];
  const count = decoding.readVarUint(decoder);
  for (let i = 0; i < count; i++) {
    entries.push({ clientId: decoding.readVarUint(decoder), clock: decoding.readVarUint(decoder), json: decoding.readVarString(decoder) });
  }
  return entries;
}

interface RawMember {
  socket: WebSocket;
  /** Every frame received so far. */
  received: Uint8Array[];
  closed: Promise<number>;
}

/** A raw `ws` socket on the room, once the room is loaded (the server's first frame arrived). */
async function openMember(server: TestServer, roomId: string, token: string): Promise<RawMember> {
  // Listening from the start: the server's first frames can arrive before `open` callers resume.
  const socket = new WebSocket(`${server.syncUrl}/${roomId}?token=${token}`);
  socket.on('error', () => {});
  const received: Uint8Array[] = [];
  socket.on('message', (data: Buffer) => received.push(new Uint8Array(data)));
  const closed = closeCode(socket);
  await waitFor(() => received.length > 0, { message: 'first frame from the server' });
  return { socket, received, closed };
}

type User = { name?: string; color?: string; memberId?: string; role?: string; agent?: unknown };
const userOf = (client: TestClient, clientId: number) => client.provider.awareness.getStates().get(clientId)?.user as User | undefined;

/** Every state a stock client was shown for `clientId`, as JSON. */
function recordStates(client: TestClient, clientId: number): string[] {
  const seen: string[] = [];
  client.provider.awareness.on('change', ({ added, updated }: { added: number[]; updated: number[] }) => {
    if (added.concat(updated).includes(clientId)) seen.push(JSON.stringify(client.provider.awareness.getStates().get(clientId)));
  });
  return seen;
}

async function rejected(server: TestServer, reason: string): Promise<number> {
  const { values } = await server.server.metrics.rejectedMessages.get();
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

async function disconnects(server: TestServer, reason: string): Promise<number> {
  const { values } = await server.server.metrics.disconnects.get();
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('awareness cannot be abused', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a connection speaks for one client id: a joiner gets at most one bounded state per hostile connection', async () => {
    const owner = await createRoom(server.url);
    const mallory = await joinRoom(server.url, owner.room.joinCode, 'Mallory');
    const a = connectClient(server.syncUrl, owner.room.id, owner.token);
    await a.synced;
    a.provider.awareness.setLocalStateField('user', { color: '#1971c2' });

    // Two hostile connections announce several client ids each; a third sends 900 KB states.
    const hostile = [await openMember(server, owner.room.id, mallory.token), await openMember(server, owner.room.id, mallory.token)];
    hostile.forEach((h, n) => {
      for (let i = 0; i < 4; i++) h.socket.send(awarenessFrame({ clientId: 1000 + 100 * n + i, clock: 1, state: { user: { color: '#d9480f' } } }));
    });
    const huge = await openMember(server, owner.room.id, mallory.token);
    for (let i = 0; i < 40 && huge.socket.readyState === 1; i++) {
      huge.socket.send(awarenessFrame({ clientId: 2000 + i, clock: 1, state: { user: { color: '#d9480f' }, pad: 'x'.repeat(900_000) } }));
    }
    expect(await huge.closed).toBe(CLOSE_CODES.awarenessAbuse);
    await waitFor(() => [...a.provider.awareness.getStates().values()].filter((s) => (s.user as User | undefined)?.memberId === mallory.member.id).length === 2);

    // A joiner (stock client) and a raw one (to measure the bytes) see one state per hostile connection.
    const joiner = connectClient(server.syncUrl, owner.room.id, owner.token);
    await joiner.synced;
    await waitFor(() => joiner.provider.awareness.getStates().has(a.doc.clientID));
    const fromMallory = [...joiner.provider.awareness.getStates().entries()].filter(([, s]) => (s.user as User | undefined)?.memberId === mallory.member.id);
    expect(fromMallory.map(([id]) => id).sort()).toEqual([1000, 1100]);

    const raw = await openMember(server, owner.room.id, owner.token);
    raw.socket.send(QUERY_AWARENESS);
    await waitFor(() => raw.received.filter((m) => receivedEntries(m) !== null).length >= 2, { message: 'initial awareness and the query answer' });
    const hostileIds = new Set<number>();
    let answered = false;
    for (const message of raw.received) {
      const entries = receivedEntries(message);
      if (!entries) continue;
      expect(new Set(entries.map((e) => e.clientId)).size).toBe(entries.length);
      for (const e of entries) expect(Buffer.byteLength(e.json)).toBeLessThanOrEqual(MAX_STATE_BYTES);
      expect(message.byteLength).toBeLessThan(4 * MAX_STATE_BYTES);
      const ids = entries.map((e) => e.clientId).filter((c) => c >= 1000 && c < 3000);
      for (const c of ids) hostileIds.add(c);
      if (ids.length === 2) answered = true;
    }
    expect([...hostileIds].sort()).toEqual([1000, 1100]);
    expect(answered).toBe(true);
    expect(await rejected(server, 'extra_awareness_id')).toBeGreaterThan(0);
    expect(await rejected(server, 'awareness_too_big')).toBeGreaterThan(0);

    for (const h of [...hostile, raw]) h.socket.close();
    await waitFor(() => !joiner.provider.awareness.getStates().has(1000) && !joiner.provider.awareness.getStates().has(1100));
    a.destroy();
    joiner.destroy();
  });

  it('an oversized or invalid state is dropped and never seen by others; repeated ones close with 4429', async () => {
    const owner = await createRoom(server.url);
    const mallory = await joinRoom(server.url, owner.room.joinCode, 'Mallory');
    const bystander = connectClient(server.syncUrl, owner.room.id, owner.token);
    await bystander.synced;
    const id = 4242;
    const seen = recordStates(bystander, id);

    const h = await openMember(server, owner.room.id, mallory.token);
    const tooBig = { user: { color: '#2b8a3e' }, pad: 'x'.repeat(MAX_STATE_BYTES) };
    h.socket.send(awarenessFrame({ clientId: id, clock: 1, state: tooBig }));
    h.socket.send(awarenessFrame({ clientId: id, clock: 2, state: { user: { color: 'red' } } }));
    h.socket.send(awarenessFrame({ clientId: id, clock: 3, state: { cursor: { anchor: 'somewhere', head: 7 } } }));
    h.socket.send(awarenessFrame({ clientId: id, clock: 4, state: { user: 'Mallory' } }));
    // Then a valid one, with a key the server does not know (stripped) and a real cursor.
    const cursor = {
      anchor: { type: { client: 1, clock: 2 }, tname: null, item: { client: 1, clock: 5 }, assoc: 0 },
      head: { type: null, tname: 'story', item: null, assoc: -1 },
    };
    h.socket.send(awarenessFrame({ clientId: id, clock: 5, state: { user: { color: '#2b8a3e' }, cursor, extra: 'x'.repeat(100) } }));
    await waitFor(() => userOf(bystander, id)?.color === '#2b8a3e');

    expect(seen).toHaveLength(1); // only the valid state ever reached the bystander
    expect(bystander.provider.awareness.getStates().get(id)).toEqual({
      user: { name: 'Mallory', color: '#2b8a3e', memberId: mallory.member.id, role: 'editor' },
      cursor,
    });
    expect(await rejected(server, 'awareness_too_big')).toBeGreaterThan(0);
    expect(await rejected(server, 'awareness_invalid')).toBeGreaterThan(0);
    expect(h.socket.readyState).toBe(1); // a few bad states are only dropped

    const abuseBefore = await disconnects(server, 'awareness_abuse');
    for (let clock = 6; clock < 40 && h.socket.readyState === 1; clock++) h.socket.send(awarenessFrame({ clientId: id, clock, state: tooBig }));
    expect(await h.closed).toBe(CLOSE_CODES.awarenessAbuse);
    expect(await disconnects(server, 'awareness_abuse')).toBe(abuseBefore + 1);
    await waitFor(() => !bystander.provider.awareness.getStates().has(id));
    expect(seen).toHaveLength(1);
    bystander.destroy();
  });

  it("identity comes from the token: a forged name, role, member id or AI flag is replaced by the token's", async () => {
    const owner = await createRoom(server.url, { displayName: 'Olivia' });
    const mallory = await joinRoom(server.url, owner.room.joinCode, 'Mallory');
    const ownerClient = connectClient(server.syncUrl, owner.room.id, owner.token);
    const stockMallory = connectClient(server.syncUrl, owner.room.id, mallory.token);
    await Promise.all([ownerClient.synced, stockMallory.synced]);
    ownerClient.provider.awareness.setLocalStateField('user', { name: 'Olivia', color: '#1971c2', memberId: owner.member.id, role: 'owner' });

    // A raw socket claims to be the AI; a stock client claims to be the owner.
    const h = await openMember(server, owner.room.id, mallory.token);
    const fakeAgent = { name: AGENT_DISPLAY_NAME, color: AGENT_COLOR, memberId: AGENT_MEMBER_ID, role: 'owner', agent: { state: 'writing', model: 'x' } };
    h.socket.send(awarenessFrame({ clientId: 5151, clock: 1, state: { user: fakeAgent, agent: true } }));
    stockMallory.provider.awareness.setLocalStateField('user', { name: 'Olivia', color: '#c2255c', memberId: owner.member.id, role: 'owner' });

    const bystander = connectClient(server.syncUrl, owner.room.id, owner.token);
    await bystander.synced;
    await waitFor(() => userOf(bystander, 5151) && userOf(bystander, stockMallory.doc.clientID)?.color === '#c2255c' && userOf(bystander, ownerClient.doc.clientID));

    const states = bystander.provider.awareness.getStates();
    expect(states.get(5151)).toEqual({ user: { name: 'Mallory', color: AGENT_COLOR, memberId: mallory.member.id, role: 'editor' } });
    expect(userOf(bystander, stockMallory.doc.clientID)).toEqual({ name: 'Mallory', color: '#c2255c', memberId: mallory.member.id, role: 'editor' });
    // What the web client's presence bar shows: no AI, the owner once, Mallory (once: one member).
    const presence = presenceList(states as Map<number, Record<string, unknown>>, bystander.doc.clientID);
    expect(presence.filter((p) => p.isAgent)).toEqual([]);
    expect(presence.map((p) => `${p.name}/${p.role}`).sort()).toEqual(['Mallory/editor', 'Olivia/owner']);

    h.socket.close();
    for (const c of [ownerClient, stockMallory, bystander]) c.destroy();
  });

  it("a flood of awareness updates is rate-limited and closed with 4429; other members' presence still updates", async () => {
    const owner = await createRoom(server.url);
    const mallory = await joinRoom(server.url, owner.room.joinCode, 'Mallory');
    const friend = await joinRoom(server.url, owner.room.joinCode, 'Friend');
    const bystander = connectClient(server.syncUrl, owner.room.id, owner.token);
    const f = connectClient(server.syncUrl, owner.room.id, friend.token);
    await Promise.all([bystander.synced, f.synced]);
    const id = 6161;
    const seen = recordStates(bystander, id);

    const h = await openMember(server, owner.room.id, mallory.token);
    const FLOOD = 2000;
    for (let clock = 1; clock <= FLOOD && h.socket.readyState === 1; clock++) {
      h.socket.send(awarenessFrame({ clientId: id, clock, state: { user: { color: '#d9480f' }, cursor: { anchor: { assoc: clock }, head: { assoc: clock } } } }));
      if (clock === FLOOD / 2) f.provider.awareness.setLocalStateField('user', { color: '#0c8599' });
    }
    expect(await h.closed).toBe(CLOSE_CODES.awarenessAbuse);

    // The friend's presence got through during the flood and still updates after it.
    await waitFor(() => userOf(bystander, f.doc.clientID)?.color === '#0c8599');
    f.provider.awareness.setLocalStateField('user', { color: '#087f5b' });
    await waitFor(() => userOf(bystander, f.doc.clientID)?.color === '#087f5b');
    await waitFor(() => !bystander.provider.awareness.getStates().has(id));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(FLOOD / 4);
    expect(await rejected(server, 'awareness_rate')).toBeGreaterThan(0);
    bystander.destroy();
    f.destroy();
  });

  it('query-awareness is rate-limited: a flood is mostly unanswered and closed with 4429', async () => {
    const owner = await createRoom(server.url);
    const mallory = await joinRoom(server.url, owner.room.joinCode, 'Mallory');
    const bystander = connectClient(server.syncUrl, owner.room.id, owner.token);
    await bystander.synced;
    bystander.provider.awareness.setLocalStateField('user', { color: '#1971c2' });

    const h = await openMember(server, owner.room.id, mallory.token);
    await waitFor(() => h.received.some((m) => receivedEntries(m)?.some((e) => e.clientId === bystander.doc.clientID)));
    const before = h.received.length;
    const QUERIES = 500;
    for (let i = 0; i < QUERIES && h.socket.readyState === 1; i++) h.socket.send(QUERY_AWARENESS);
    expect(await h.closed).toBe(CLOSE_CODES.awarenessAbuse);
    const answers = h.received.slice(before).filter((m) => receivedEntries(m) !== null).length;
    expect(answers).toBeGreaterThan(0);
    expect(answers).toBeLessThan(QUERIES / 4);
    expect(await rejected(server, 'query_awareness_rate')).toBeGreaterThan(0);
    bystander.destroy();
  });

  it("a member's newer connection takes over its own client id; nobody takes another's", async () => {
    const owner = await createRoom(server.url);
    const mallory = await joinRoom(server.url, owner.room.joinCode, 'Mallory');
    const eve = await joinRoom(server.url, owner.room.joinCode, 'Eve');
    const bystander = connectClient(server.syncUrl, owner.room.id, owner.token);
    await bystander.synced;
    const id = 7171;

    const old = await openMember(server, owner.room.id, mallory.token);
    old.socket.send(awarenessFrame({ clientId: id, clock: 1, state: { user: { color: '#111111' } } }));
    await waitFor(() => userOf(bystander, id)?.color === '#111111');
    const newer = await openMember(server, owner.room.id, mallory.token);
    newer.socket.send(awarenessFrame({ clientId: id, clock: 2, state: { user: { color: '#222222' } } }));
    await waitFor(() => userOf(bystander, id)?.color === '#222222');

    // Another member cannot set it, and the newer connection cannot add a second id.
    const other = await openMember(server, owner.room.id, eve.token);
    other.socket.send(awarenessFrame({ clientId: id, clock: 3, state: { user: { color: '#333333' } } }));
    newer.socket.send(awarenessFrame({ clientId: id + 1, clock: 1, state: { user: { color: '#444444' } } }));
    newer.socket.send(awarenessFrame({ clientId: id, clock: 4, state: { user: { color: '#555555' } } }));
    await waitFor(() => userOf(bystander, id)?.color === '#555555');
    expect(bystander.provider.awareness.getStates().has(id + 1)).toBe(false);
    expect(userOf(bystander, id)?.name).toBe('Mallory');

    // The state leaves with the connection that holds it.
    newer.socket.close();
    await waitFor(() => !bystander.provider.awareness.getStates().has(id));
    for (const r of [old, other]) r.socket.close();
    bystander.destroy();
  });

  it('a viewer appears in presence with its identity from the token, under the same limits', async () => {
    const owner = await createRoom(server.url, { displayName: 'Olivia' });
    const viewer = await joinRoom(server.url, owner.room.joinCode, 'Watcher', 'viewer');
    const bystander = connectClient(server.syncUrl, owner.room.id, owner.token);
    const v = connectClient(server.syncUrl, owner.room.id, viewer.token);
    await Promise.all([bystander.synced, v.synced]);
    v.provider.awareness.setLocalStateField('user', { name: 'Olivia', color: '#ae3ec9', role: 'owner' });
    await waitFor(() => userOf(bystander, v.doc.clientID)?.color === '#ae3ec9');
    expect(userOf(bystander, v.doc.clientID)).toEqual({ name: 'Watcher', color: '#ae3ec9', memberId: viewer.member.id, role: 'viewer' });

    const h = await openMember(server, owner.room.id, viewer.token);
    for (let clock = 1; clock <= 2000 && h.socket.readyState === 1; clock++) {
      h.socket.send(awarenessFrame({ clientId: 8181, clock, state: { user: { color: '#d9480f' }, pad: 'x'.repeat(clock % 2 ? 10 : 2 * MAX_STATE_BYTES) } }));
    }
    expect(await h.closed).toBe(CLOSE_CODES.awarenessAbuse);
    await waitFor(() => !bystander.provider.awareness.getStates().has(8181));
    bystander.destroy();
    v.destroy();
  });
});

describe('a client that never reads', () => {
  const MAX_BUFFERED = 256 * 1024;
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { ENSEMBLE_MAX_BUFFERED_BYTES: String(MAX_BUFFERED) } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('is terminated instead of buffering without bound while it spams sync step 1 and query-awareness', async () => {
    const owner = await createRoom(server.url);
    const viewer = await joinRoom(server.url, owner.room.joinCode, 'Lurker', 'viewer');
    const a = connectClient(server.syncUrl, owner.room.id, owner.token);
    await a.synced;
    a.provider.awareness.setLocalStateField('user', { color: '#1971c2' });
    const big = 'lorem ipsum '.repeat(40_000); // ≈ 480 KB: every step 2 answer carries it
    a.doc.getText('t').insert(0, big);
    await waitFor(() => server.server.registry.peek(owner.room.id)?.doc.getText('t').length === big.length);

    await collectGarbage();
    const baseline = process.memoryUsage().arrayBuffers;
    const slowBefore = await disconnects(server, 'slow_consumer');
    const p = await openMember(server, owner.room.id, viewer.token);
    (p.socket as unknown as { _socket: Socket })._socket.pause(); // stops reading; still writes
    const FRAMES = 200; // ≈ 100 MB of answers if they were all queued
    for (let i = 0; i < FRAMES && p.socket.readyState === 1; i++) {
      p.socket.send(emptyStep1());
      p.socket.send(QUERY_AWARENESS);
    }
    await waitFor(() => server.server.registry.peek(owner.room.id)?.connectionCount === 1, { message: 'paused socket dropped', timeoutMs: 20_000 });
    expect(await disconnects(server, 'slow_consumer')).toBe(slowBefore + 1);
    await collectGarbage();
    expect(process.memoryUsage().arrayBuffers - baseline).toBeLessThan(32 * 1024 * 1024);

    // The room is fine: a new member syncs the document and sees the owner's presence.
    const b = connectClient(server.syncUrl, owner.room.id, owner.token);
    await b.synced;
    expect(b.doc.getText('t').length).toBe(big.length);
    await waitFor(() => userOf(b, a.doc.clientID)?.color === '#1971c2');
    p.socket.terminate();
    a.destroy();
    b.destroy();
  });
});
