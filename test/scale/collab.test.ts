import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, createRoom, joinRoom, openCollab, spawnServer, tempDataDir, waitFor, type CollabSocket, type ServerProcess } from '../helpers/index';
import { sharedDeploymentEnv, useTestRedis, type TestRedis } from '../helpers/redis';

const mongoUri = process.env.MONGODB_URI ?? inject('mongoUri');

describe('/collab across processes (socket.io Redis adapter)', () => {
  let redis: TestRedis;
  const cleanup: Array<() => void | Promise<unknown>> = [];
  beforeAll(async () => {
    redis = await useTestRedis();
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  async function start(env: Record<string, string>): Promise<ServerProcess> {
    const dataDir = tempDataDir('ensemble-scale-');
    const proc = await spawnServer({ ...env, ENSEMBLE_DATA_DIR: dataDir });
    cleanup.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    cleanup.push(() => {
      proc.child.kill('SIGKILL');
    });
    return proc;
  }

  async function collab(proc: ServerProcess, token: string): Promise<CollabSocket> {
    const outcome = await openCollab(proc.url, token);
    if (outcome.kind !== 'open') throw new Error(`/collab refused: ${outcome.message}`);
    cleanup.push(() => {
      outcome.socket.close();
    });
    return outcome.socket;
  }

  it('an event the room gets on one process reaches its members connected to another', async () => {
    const env = sharedDeploymentEnv(redis, mongoUri);
    const [first, second] = await Promise.all([start(env), start(env)]);
    const owner = await createRoom(first.url, { kind: 'classroom' });
    const student = await joinRoom(second.url, owner.room.joinCode, 'Sam');
    const here = await collab(first, owner.token);
    const there = await collab(second, student.token);
    const heard: Record<'here' | 'there', unknown> = { here: null, there: null };
    here.once('settings:changed', (e) => (heard.here = e));
    there.once('settings:changed', (e) => (heard.there = e));
    // The owner changes the settings through the first process; the student's socket is on the second.
    const patched = await api(first.url, 'PATCH', `/api/rooms/${owner.room.id}/settings`, { body: { aiMode: 'off' }, token: owner.token });
    expect(patched.status).toBe(200);
    await waitFor(() => heard.here !== null && heard.there !== null, { message: `settings:changed not heard on both processes: ${JSON.stringify(heard)}` });
    expect(heard.here).toMatchObject({ aiMode: 'off' });
    expect(heard.there).toMatchObject({ aiMode: 'off' });
  });
});
