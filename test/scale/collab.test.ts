import { describe, expect, inject, it } from 'vitest';
import { CLOSE_CODES } from '../../shared/src/index';
import { api, closeCode, createRoom, joinRoom, openCollab, openRaw, waitFor, type CollabSocket, type ServerProcess } from '../helpers/index';
import { sharedDeploymentEnv, startDeploymentProcess, useRedisSuite } from '../helpers/deployment';

const mongoUri = process.env.MONGODB_URI ?? inject('scaleMongoUri');

describe('room events and /collab across processes', () => {
  const suite = useRedisSuite();
  const { cleanup } = suite;

  const start = (env: Record<string, string>) => startDeploymentProcess(env, cleanup);

  async function collab(proc: ServerProcess, token: string): Promise<CollabSocket> {
    const outcome = await openCollab(proc.url, token);
    if (outcome.kind !== 'open') throw new Error(`/collab refused: ${outcome.message}`);
    cleanup.push(() => {
      outcome.socket.close();
    });
    return outcome.socket;
  }

  it('an event the room gets on one process reaches its members connected to another', async () => {
    const env = sharedDeploymentEnv(suite.redis, mongoUri);
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

  it('a member removed through one process loses its sync and /collab sockets on another at once', async () => {
    const env = sharedDeploymentEnv(suite.redis, mongoUri);
    const [first, second] = await Promise.all([start(env), start(env)]);
    const owner = await createRoom(first.url);
    const student = await joinRoom(second.url, owner.room.joinCode, 'Sam');
    const opened = await openRaw(`${second.syncUrl}/${owner.room.id}?token=${student.token}`);
    if (opened.kind !== 'open') throw new Error(`sync refused: ${opened.status} ${opened.body}`);
    cleanup.push(() => opened.socket.terminate());
    const syncClosed = closeCode(opened.socket);
    const there = await collab(second, student.token);
    const collabClosed = new Promise((resolve) => there.once('collab:closed', resolve));
    const removed = await api(first.url, 'DELETE', `/api/rooms/${owner.room.id}/members/${student.member.id}`, { token: owner.token });
    expect(removed.status).toBe(200);
    expect(await syncClosed).toBe(CLOSE_CODES.memberRemoved);
    expect(await collabClosed).toMatchObject({ code: CLOSE_CODES.memberRemoved });
  });
});
