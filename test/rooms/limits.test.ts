import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentExtension } from '../../server/src/agent/index';
import { ack, closeCode, createRoom, joinRoom, openCollab, openRaw, waitFor, startServer, type CollabSocket, type TestServer } from '../helpers/index';
import { WebSocket as WS, type WebSocket } from '../helpers/index';

type AckResult = { ok: boolean; error?: { code: string; message: string } };

async function collabOf(server: TestServer, token: string): Promise<CollabSocket> {
  const outcome = await openCollab(server.url, token);
  if (outcome.kind !== 'open') throw new Error(`/collab refused: ${outcome.message}`);
  return outcome.socket;
}

describe('socket caps per member and per address', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({
      env: { ENSEMBLE_MAX_SOCKETS_PER_MEMBER: '3', ENSEMBLE_MAX_SOCKETS_PER_ADDRESS: '5' },
      extensions: [createAgentExtension({ engine: null })],
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('sync: the member’s 4th socket and the address’s 6th get 429; a closed socket frees its slot', async () => {
    const owner = await createRoom(server.url);
    const other = await joinRoom(server.url, owner.room.joinCode, 'Other');
    const url = (token: string) => `${server.syncUrl}/${owner.room.id}?token=${token}`;
    const open: WebSocket[] = [];
    const connect = async (token: string) => {
      const outcome = await openRaw(url(token));
      if (outcome.kind === 'open') open.push(outcome.socket);
      return outcome;
    };
    for (let i = 0; i < 3; i++) expect((await connect(owner.token)).kind).toBe('open');
    const perMember = await connect(owner.token);
    expect(perMember.kind === 'refused' && perMember.status).toBe(429);
    expect(perMember.kind === 'refused' && perMember.body).toMatch(/too many open connections for this member/);

    for (let i = 0; i < 2; i++) expect((await connect(other.token)).kind).toBe('open');
    const perAddress = await connect(other.token);
    expect(perAddress.kind === 'refused' && perAddress.status).toBe(429);
    expect(perAddress.kind === 'refused' && perAddress.body).toMatch(/from this address/);

    const first = open.shift()!;
    const closed = closeCode(first);
    first.close();
    await closed;
    await waitFor(async () => {
      const again = await connect(owner.token);
      return again.kind === 'open';
    }, { message: 'slot freed after close' });
    for (const s of open) s.close();
  });

  it('/collab: the member’s 4th socket gets a connect error saying why; sync and /collab are counted apart', async () => {
    const owner = await createRoom(server.url);
    const sockets: CollabSocket[] = [];
    for (let i = 0; i < 3; i++) sockets.push(await collabOf(server, owner.token));
    const refused = await openCollab(server.url, owner.token);
    expect(refused.kind).toBe('refused');
    if (refused.kind === 'refused') {
      expect(refused.code).toBe('rate_limited');
      expect(refused.message).toMatch(/too many open connections for this member/);
    }
    // The same member can still open a sync socket.
    const sync = await openRaw(`${server.syncUrl}/${owner.room.id}?token=${owner.token}`);
    expect(sync.kind).toBe('open');
    if (sync.kind === 'open') sync.socket.close();

    sockets.pop()!.close();
    await waitFor(async () => {
      const again = await openCollab(server.url, owner.token);
      if (again.kind === 'open') sockets.push(again.socket);
      return again.kind === 'open';
    }, { message: 'collab slot freed after disconnect' });
    for (const s of sockets) s.close();
  });

  it('/collab: transports opened without ever sending a token count against the address', async () => {
    const engineUrl = `${server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`;
    // A bare engine.io websocket: the server sends its open packet ("0{...}") and waits for a namespace.
    const openEngine = () =>
      new Promise<{ socket: WebSocket } | { status: number; body: string }>((resolve, reject) => {
        const socket = new WS(engineUrl);
        socket.once('message', () => resolve({ socket }));
        socket.once('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        socket.once('error', reject);
      });
    await waitFor(async () => {
      const probe = await openEngine();
      if ('socket' in probe) probe.socket.close();
      return 'socket' in probe;
    }, { message: 'earlier sockets released' });
    const idle: WebSocket[] = [];
    for (let i = 0; i < 5; i++) {
      const outcome = await openEngine();
      if (!('socket' in outcome)) throw new Error(`engine connection ${i} refused: ${outcome.status}`);
      idle.push(outcome.socket);
    }
    const refused = await openEngine();
    // engine.io answers every refused websocket handshake with 400 and the reason as the body.
    expect('status' in refused && refused.status).toBe(400);
    expect('body' in refused && refused.body).toMatch(/too many open connections from this address/);
    const owner = await createRoom(server.url);
    expect((await openCollab(server.url, owner.token)).kind).toBe('refused');

    for (const s of idle) s.close();
    await waitFor(async () => (await openCollab(server.url, owner.token).then((o) => (o.kind === 'open' && o.socket.close(), o.kind))) === 'open', {
      message: 'address slots freed',
    });
  });
});

describe('rate limits on votes and recommendations', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({
      env: { ENSEMBLE_VOTE_BURST: '3', ENSEMBLE_VOTE_PER_MIN: '1', ENSEMBLE_RECOMMEND_BURST: '2', ENSEMBLE_RECOMMEND_PER_MIN: '1' },
      extensions: [createAgentExtension({ engine: null })],
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('proposal:vote, recommend:next and recommend:dismiss answer rate_limited past the member’s burst', async () => {
    const owner = await createRoom(server.url);
    const editor = await joinRoom(server.url, owner.room.joinCode, 'Ed');
    const socket = await collabOf(server, owner.token);

    const votes: AckResult[] = [];
    for (let i = 0; i < 5; i++) votes.push(await ack(socket, 'proposal:vote', { proposalId: 'nope', alternative: 0, value: 1 }));
    // Within the burst the vote is handled (there is no such proposal); past it, refused before any work.
    expect(votes.slice(0, 3).map((v) => v.error?.code)).toEqual(['not_found', 'not_found', 'not_found']);
    expect(votes.slice(3).map((v) => v.error?.code)).toEqual(['rate_limited', 'rate_limited']);
    expect(votes[3]!.error!.message).toMatch(/try again in \d+ s/);

    const nexts: AckResult[] = [];
    for (let i = 0; i < 3; i++) nexts.push(await ack(socket, 'recommend:next', {}));
    expect(nexts.map((n) => n.ok)).toEqual([true, true, false]);
    expect(nexts[2]!.error!.code).toBe('rate_limited');

    // Dismissals have their own bucket: what-next being used up does not block them.
    const dismissals: AckResult[] = [];
    for (let i = 0; i < 3; i++) dismissals.push(await ack(socket, 'recommend:dismiss', { suggestionId: 'raise-stakes' }));
    expect(dismissals.map((d) => d.ok)).toEqual([true, true, false]);
    expect(dismissals[2]!.error!.code).toBe('rate_limited');

    // Buckets are per member: another member of the room is unaffected.
    const other = await collabOf(server, editor.token);
    expect((await ack(other, 'recommend:next', {})).ok).toBe(true);
    socket.close();
    other.close();
  });

  it('viewers only read: vote and dismiss are forbidden (never rate_limited), what-next works', async () => {
    const owner = await createRoom(server.url);
    const viewer = await joinRoom(server.url, owner.room.joinCode, 'Vi', 'viewer');
    const socket = await collabOf(server, viewer.token);
    for (let i = 0; i < 4; i++) {
      expect((await ack(socket, 'recommend:dismiss', { suggestionId: 'raise-stakes' })).error?.code).toBe('forbidden');
      expect((await ack(socket, 'proposal:vote', { proposalId: 'p', alternative: 0, value: -1 })).error?.code).toBe('forbidden');
    }
    expect((await ack(socket, 'recommend:next', {})).ok).toBe(true);
    expect(await server.store.records.listFeedback(owner.room.id, viewer.member.id)).toEqual([]);
    socket.close();
  });
});

describe('feedback rows per member', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({
      env: { ENSEMBLE_MAX_FEEDBACK_PER_MEMBER: '5', ENSEMBLE_RECOMMEND_BURST: '100' },
      extensions: [createAgentExtension({ engine: null })],
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('are bounded: past the cap events still succeed but no more rows are stored', async () => {
    const owner = await createRoom(server.url);
    const editor = await joinRoom(server.url, owner.room.joinCode, 'Ed');
    const socket = await collabOf(server, owner.token);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ack(socket, 'recommend:dismiss', { suggestionId: `s${i}` })));
    expect(results.every((r) => r.ok)).toBe(true);
    expect((await server.store.records.listFeedback(owner.room.id, owner.member.id)).length).toBe(5);
    // The cap is per member.
    const other = await collabOf(server, editor.token);
    expect((await ack(other, 'recommend:dismiss', { suggestionId: 'x' })).ok).toBe(true);
    expect((await server.store.records.listFeedback(owner.room.id, editor.member.id)).length).toBe(1);
    socket.close();
    other.close();
  });
});
