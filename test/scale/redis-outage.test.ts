import * as Y from 'yjs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createStore } from '../../server/src/storage/index';
import { loadStoredDocument } from '../../server/src/sync/stored-document';
import { api, connectClient, createRoom, joinRoom, tempDataDir, waitConverged, waitFor, type ServerProcess, type TestClient } from '../helpers/index';
import { sharedDeploymentEnv, startDeploymentProcess } from '../helpers/deployment';
import { ownRedisServer } from '../helpers/redis';
import { openCollab } from '../helpers/collab';
import { anchorAtEnd, call, typeParagraph, type CollabClient } from '../agent/harness';
import type { Ack } from '../../shared/src/index';

const mongoUri = process.env.MONGODB_URI ?? inject('scaleMongoUri');
const read = (doc: Y.Doc) => doc.getText('t').toString();

interface Health {
  redis?: string;
  degraded?: boolean;
}

/**
 * Two real processes sharing MongoDB and a redis-server of the test's own, which the test kills
 * and starts again on the same port while stock y-websocket clients on both processes edit.
 */
describe('Redis stopped and restarted during editing', () => {
  const cleanup: Array<() => void | Promise<unknown>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  const ownRedis = (port?: number) => ownRedisServer(cleanup, port);

  function client(proc: ServerProcess, roomId: string, token: string): TestClient {
    const c = connectClient(proc.syncUrl, roomId, token);
    cleanup.push(() => c.destroy());
    return c;
  }

  const health = async (proc: ServerProcess) => api<Health>(proc.url, 'GET', '/healthz');
  const metric = async (proc: ServerProcess, name: string) => {
    const text = await (await fetch(`${proc.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };

  it('each process goes on serving its members degraded, stores their edits, and both converge once Redis is back', async () => {
    const redis = await ownRedis();
    // The AI collaborator runs (/collab over the socket.io Redis adapter) with an engine on a closed port: no model.
    const ai = { ENSEMBLE_ROLE: 'sync', ENSEMBLE_DISABLE_AI: 'false', ENSEMBLE_INFERENCE_URL: 'http://127.0.0.1:9/v1', ENSEMBLE_INFERENCE_API_KEY: 'unused' };
    const env = { ...sharedDeploymentEnv(redis, mongoUri), ...ai, ENSEMBLE_FLUSH_MS: '20', ENSEMBLE_COMPACT_EVERY: '10' };
    const start = (e: Record<string, string>) => startDeploymentProcess(e, cleanup);
    const procs = await Promise.all([start(env), start(env)]);
    const room = await createRoom(procs[0]!.url);
    const roomId = room.room.id;
    const other = (await joinRoom(procs[1]!.url, room.room.joinCode, 'Other')).token;
    // Two clients per process: the second one on each shows that editing still reaches the process's own members.
    const clients = [client(procs[0]!, roomId, room.token), client(procs[0]!, roomId, room.token), client(procs[1]!, roomId, other), client(procs[1]!, roomId, other)];
    await Promise.all(clients.map((c) => c.synced));
    const [a, a2, b, b2] = clients as [TestClient, TestClient, TestClient, TestClient];
    // A second room, whose only member on the first process leaves during the outage.
    const quiet = await createRoom(procs[0]!.url);
    const leaver = client(procs[0]!, quiet.room.id, quiet.token);
    const stayer = client(procs[1]!, quiet.room.id, quiet.token);
    await Promise.all([leaver.synced, stayer.synced]);
    a.doc.getText('t').insert(0, 'before;');
    const paragraph = typeParagraph(a.doc, 'A story to continue.');
    await waitConverged(clients.map((c) => c.doc), read);
    const collab: CollabClient[] = [];
    for (const proc of procs) {
      const outcome = await openCollab(proc.url, room.token);
      if (outcome.kind !== 'open') throw new Error(`/collab refused: ${outcome.message}`);
      cleanup.push(() => {
        outcome.socket.disconnect();
      });
      collab.push(outcome.socket);
    }

    // Redis dies without a word to its clients.
    await redis.kill('SIGKILL');
    for (const proc of procs) {
      await waitFor(async () => (await health(proc)).body.redis === 'down', { message: 'healthz did not report Redis down' });
      const { status, body } = await health(proc);
      expect(status).toBe(200);
      expect(body.degraded).toBe(true);
      expect(await metric(proc, 'ensemble_redis_up')).toBe(0);
    }
    for (let i = 0; i < 20; i++) {
      a.doc.getText('t').insert(a.doc.getText('t').length, `a${i};`);
      b.doc.getText('t').insert(0, `b${i};`);
    }
    // Each process's own members keep editing together; the other process's edits cannot reach them.
    await waitFor(() => read(a2.doc).includes('a19;') && read(b2.doc).includes('b19;'), { message: 'edits did not reach the members on the same process' });
    expect(read(a2.doc)).not.toContain('b0;');
    expect(read(b2.doc)).not.toContain('a0;');
    const store = createStore({ ENSEMBLE_DATA_DIR: tempDataDir(), MONGODB_URI: env.MONGODB_URI, MONGODB_DB: env.MONGODB_DB });
    await store.init();
    cleanup.push(() => store.close());
    const stored = async (id = roomId) => {
      const { doc } = await loadStoredDocument(store.documents, id);
      const text = read(doc);
      doc.destroy();
      return text;
    };
    leaver.doc.getText('t').insert(0, 'written offline, then gone;');
    await waitFor(async () => (await stored(quiet.room.id)).includes('gone;'), { message: "the leaver's edit was not stored" });
    leaver.destroy();
    // /collab answers on both processes while the adapter cannot reach Redis (its room emits wait for it):
    // the AI, which needs to know its one owner, says at once that it is unavailable; editing goes on.
    for (const socket of collab) {
      const res = await call<Ack<object>>(socket, 'proposal:request', { anchor: anchorAtEnd(paragraph), mode: 'continue', alternatives: 1 }, 10_000);
      expect(res.ok ? 'ok' : res.error.code).toBe('busy');
      expect(res.ok ? '' : res.error.message).toMatch(/unavailable while this server reconnects/);
    }
    // The shared rate limits fall back to each process's memory: joining still works.
    await joinRoom(procs[1]!.url, room.room.joinCode, 'While Redis is down');

    // Storing did not wait for Redis: the shared store holds both processes' edits already.
    await waitFor(async () => {
      const text = await stored();
      return text.includes('a19;') && text.includes('b19;');
    }, { message: 'updates made while Redis was down were not stored' });
    for (const proc of procs) expect(await metric(proc, 'ensemble_redis_unpublished_updates_total')).toBeGreaterThan(0);

    // Redis comes back (empty: it kept nothing) on the same port; no client reconnects.
    await ownRedis(redis.port);
    for (const proc of procs) await waitFor(async () => (await health(proc)).body.redis === 'ready', { timeoutMs: 15_000, message: 'healthz did not report Redis ready again' });
    const converged = await waitConverged(clients.map((c) => c.doc), read, 20_000);
    for (let i = 0; i < 20; i++) expect(converged).toContain(`a${i};`), expect(converged).toContain(`b${i};`);
    expect(converged).toContain('before;');
    for (const proc of procs) {
      expect(await metric(proc, 'ensemble_redis_up')).toBe(1);
      expect(await metric(proc, 'ensemble_redis_degraded_periods_total')).toBe(1);
      expect(await metric(proc, 'ensemble_redis_room_resyncs_total')).toBeGreaterThanOrEqual(1);
    }
    for (const c of clients) expect(c.provider.wsconnected).toBe(true);
    // The room its process would have unloaded waited for the re-sync: the other process has the edit.
    await waitFor(() => read(stayer.doc).includes('gone;'), { message: 'an edit stored while Redis was down never reached the other process' });

    // The AI takes requests again (admitted; the proposal then fails at the closed engine port).
    await waitFor(async () => {
      const res = await call<Ack<object>>(collab[0]!, 'proposal:request', { anchor: anchorAtEnd(paragraph), mode: 'continue', alternatives: 1 }, 10_000);
      return res.ok;
    }, { timeoutMs: 15_000, message: 'the AI did not take requests again after Redis came back' });

    // Editing crosses processes again, and a fresh client on either process loads the state.
    b.doc.getText('t').insert(0, 'after;');
    const final = await waitConverged(clients.map((c) => c.doc), read, 10_000);
    expect(final).toBe(`after;${converged}`);
    for (const proc of procs) {
      const fresh = client(proc, roomId, room.token);
      await fresh.synced;
      expect(read(fresh.doc)).toBe(final);
    }

    // Both processes stop cleanly; the store alone holds the state, and a new process serves it.
    for (const c of clients) c.provider.disconnect();
    for (const proc of procs) {
      proc.child.kill('SIGTERM');
      expect(await proc.exited, proc.output()).toBe(0);
    }
    expect(await stored()).toBe(final);
    for (const proc of procs) expect(proc.output()).not.toMatch(/unhandled/i);
    const restarted = await start(env);
    const fresh = client(restarted, roomId, room.token);
    await fresh.synced;
    expect(read(fresh.doc)).toBe(final);
  });
});
