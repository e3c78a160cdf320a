import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  api,
  connectClient,
  createRoom,
  joinRoom,
  openCollab,
  openRaw,
  waitConverged,
  waitFor,
  type ServerProcess,
  type TestClient,
  type WebSocket,
} from '../helpers/index';
import { sharedDeploymentEnv, startDeploymentProcess } from '../helpers/deployment';
import { startNginx, type TestLoadBalancer } from '../helpers/nginx';
import { useTestRedis, type TestRedis } from '../helpers/redis';

const mongoUri = process.env.MONGODB_URI ?? inject('scaleMongoUri');

/** Open /sync connections of one process, from its /metrics. */
async function syncConnections(proc: ServerProcess): Promise<number> {
  const text = await (await fetch(`${proc.url}/metrics`)).text();
  const match = /^ensemble_connections (\d+)$/m.exec(text);
  if (!match) throw new Error(`no ensemble_connections in ${proc.url}/metrics`);
  return Number(match[1]);
}

/**
 * docker-compose.yml's deployment without Docker: the committed deploy/nginx.conf (upstream
 * hosts replaced by local ports) in front of two real Ensemble processes sharing MongoDB and Redis,
 * with the per-address limits lifted as the compose file lifts them.
 */
describe('the load balancer of docker-compose.yml (deploy/nginx.conf) in front of two processes', () => {
  let redis: TestRedis;
  let lb: TestLoadBalancer;
  let procs: ServerProcess[];
  const cleanup: Array<() => void | Promise<unknown>> = [];
  /** Sockets a test opened: closed after it, so the next one starts under nginx's per-address cap. */
  const closeAfterTest: Array<() => void> = [];
  const lbSync = () => `${lb.url.replace('http', 'ws')}/sync`;

  beforeAll(async () => {
    redis = await useTestRedis();
    const env = { ...sharedDeploymentEnv(redis, mongoUri), ENSEMBLE_MAX_SOCKETS_PER_ADDRESS: '1000000', ENSEMBLE_RATE_LIMIT_PER_MIN: '1000000' };
    procs = await Promise.all([startDeploymentProcess(env, cleanup), startDeploymentProcess(env, cleanup)]);
    lb = await startNginx(procs.map((p) => `127.0.0.1:${p.port}`));
  });
  afterEach(async () => {
    for (const close of closeAfterTest.splice(0)) close();
    const counts = () => Promise.all(procs.map(syncConnections));
    await waitFor(async () => (await counts()).every((n) => n === 0), { message: 'sync sockets still open after the test' });
  });
  afterAll(async () => {
    try {
      await lb?.stop();
    } finally {
      // The processes are killed even when stopping nginx failed: nothing outlives the suite.
      for (const fn of cleanup.splice(0).reverse()) await fn();
      await redis?.stop();
    }
  });

  it('spreads one room’s /sync clients over both processes (no sticky rooms) and they edit one document', async () => {
    const room = await createRoom(lb.url);
    const tokens = [room.token];
    for (let i = 1; i < 4; i++) tokens.push((await joinRoom(lb.url, room.room.joinCode, `member ${i}`)).token);
    const before = await Promise.all(procs.map(syncConnections));
    const clients: TestClient[] = tokens.map((token) => connectClient(lbSync(), room.room.id, token));
    closeAfterTest.push(() => clients.forEach((c) => c.destroy()));
    await Promise.all(clients.map((c) => c.synced));
    const added = (await Promise.all(procs.map(syncConnections))).map((n, i) => n - before[i]!);
    expect(added).toEqual([2, 2]);

    clients.forEach((c, i) => c.doc.getText('t').insert(0, `<${i}>`));
    const text = await waitConverged(
      clients.map((c) => c.doc),
      (doc) => doc.getText('t').toString(),
    );
    expect([...text.matchAll(/<(\d)>/g)].map((m) => m[1]).sort()).toEqual(['0', '1', '2', '3']);
  });

  it('serves /collab to socket.io clients that start on HTTP long-polling, as the web app’s does', async () => {
    const room = await createRoom(lb.url);
    // Polling sends a handshake, then separate requests naming its session: only the process that
    // opened it knows it, so a round-robin /socket.io would refuse most of these.
    for (let i = 0; i < 4; i++) {
      const outcome = await openCollab(lb.url, room.token, { transports: ['polling', 'websocket'] });
      expect(outcome.kind === 'open' ? 'open' : outcome.message).toBe('open');
      if (outcome.kind === 'open') outcome.socket.close();
    }
  });

  it('enforces the per-address socket cap Ensemble left to it: the 65th /sync socket from one address gets 429', async () => {
    const room = await createRoom(lb.url);
    // Eight members with eight sockets each (Ensemble's per-member cap), then a ninth member.
    const members = [room.token];
    for (let i = 1; i < 9; i++) members.push((await joinRoom(lb.url, room.room.joinCode, `socket member ${i}`)).token);
    const open: WebSocket[] = [];
    closeAfterTest.push(() => open.forEach((s) => s.close()));
    for (const token of members.slice(0, 8)) {
      for (let i = 0; i < 8; i++) {
        const outcome = await openRaw(`${lbSync()}/${room.room.id}?token=${token}`);
        expect(outcome.kind === 'open' ? 'open' : `${outcome.status} ${outcome.body}`).toBe('open');
        if (outcome.kind === 'open') open.push(outcome.socket);
      }
    }
    const refused = await openRaw(`${lbSync()}/${room.room.id}?token=${members[8]}`);
    expect(refused.kind === 'refused' ? refused.status : 'open').toBe(429);
    // It was nginx, not Ensemble: that member has no socket open, and Ensemble still takes it directly.
    const direct = await openRaw(`${procs[0]!.syncUrl}/${room.room.id}?token=${members[8]}`);
    expect(direct.kind).toBe('open');
    if (direct.kind === 'open') open.push(direct.socket);
    expect((await api(procs[0]!.url, 'GET', '/healthz')).status).toBe(200);
  });
});
