import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { COLLAB_NAMESPACE, storyText, type Ack, type AiAllowance, type ProposalInfo, type RoomResponse } from '../../shared/src/index';
import type { CollabSocket } from '../helpers/collab';
import { anchorAtEnd, api, call, connectMember, createRoom, joinRoom, removeDir, startServer, typeParagraph, waitFor, type Member, type TestServer } from './harness';

const GEN = { maxTokens: 8, deadlineMs: 60_000 };
/** One request back every second, so the refill is seen in the test's time. */
const RATE = { burst: 3, perMinute: 60 };

/** A member's /collab socket that records every `ai:allowance` from its first moment on. */
function allowanceSocket(base: string, token: string): { socket: CollabSocket; seen: AiAllowance[]; latest(): AiAllowance | undefined } {
  const socket: CollabSocket = io(`${base}${COLLAB_NAMESPACE}`, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false, autoConnect: false });
  const seen: AiAllowance[] = [];
  socket.on('ai:allowance', (a) => seen.push(a));
  socket.connect();
  return { socket, seen, latest: () => seen[seen.length - 1] };
}

describe('ai:allowance: each member’s requests left, live over /collab (real server, socket.io, y-websocket)', () => {
  let srv: TestServer;
  const members: Member[] = [];
  const sockets: CollabSocket[] = [];
  beforeAll(async () => {
    srv = await startServer({ agent: { generation: GEN, limits: { maxConcurrentPerRoom: 8 }, rate: RATE } });
  });
  afterAll(async () => {
    for (const m of members) m.close();
    for (const s of sockets) s.disconnect();
    await srv.close();
    removeDir(srv.dataDir);
  });
  const watch = (room: RoomResponse) => {
    const w = allowanceSocket(srv.http, room.token);
    sockets.push(w.socket);
    return w;
  };
  const patch = (owner: RoomResponse, body: Record<string, unknown>) => api(srv.http, 'PATCH', `/api/rooms/${owner.room.id}/settings`, body, owner.token);

  it('sent on connect, down by one after a request, back up on refill, redone on a settings change, to that member only', async () => {
    const teacher = await createRoom(srv.http, 'classroom', 'Ms Tan');
    expect((await patch(teacher, { aiMode: 'limited', aiUsesPerMember: 5 })).status).toBe(200);
    const sam = await joinRoom(srv.http, teacher.room.joinCode, 'Sam');
    const ada = await joinRoom(srv.http, teacher.room.joinCode, 'Ada');
    const viewer = await joinRoom(srv.http, teacher.room.joinCode, 'Vic', 'viewer');

    const samWatch = watch(sam);
    const adaWatch = watch(ada);
    const vicWatch = watch(viewer);
    await waitFor(() => samWatch.seen.length > 0 && adaWatch.seen.length > 0, 10_000, 'first allowance');
    expect(samWatch.latest()).toEqual({
      enabled: true,
      quota: { limit: 5, remaining: 5 },
      rate: { capacity: 3, remaining: 3, nextInMs: 0, fullInMs: 0, refillEveryMs: 1000 },
      left: 3,
    } satisfies AiAllowance);

    // Sam asks once: Sam's allowance drops by one (quota and rate), Ada's does not move.
    const writer = await connectMember(srv.port, sam.room.id, sam.token, sam.member.id);
    members.push(writer);
    const t = typeParagraph(writer.doc, 'The bell rang twice');
    await waitFor(() => storyText(writer.doc).includes('bell'), 5000, 'typed');
    const adaBefore = adaWatch.seen.length;
    const samBefore = samWatch.seen.length;
    const res = await call<Ack<{ proposal: ProposalInfo }>>(samWatch.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 1 });
    expect(res.ok).toBe(true);
    // (Sam's second socket, the writer's, got its own connect-time allowance meanwhile: full.)
    const spent = () => samWatch.seen.slice(samBefore).find((a) => a.quota?.remaining !== 5);
    await waitFor(() => spent() !== undefined, 5000, 'allowance after the request');
    const after = spent()!;
    expect(after.left).toBe(2);
    expect(after.quota).toEqual({ limit: 5, remaining: 4 });
    expect(after.rate.remaining).toBe(2);
    expect(after.rate.nextInMs).toBeGreaterThan(0);
    expect(after.rate.nextInMs).toBeLessThanOrEqual(1000);

    // The rate refills on its own: the server says so without any request (the quota stays spent).
    await waitFor(() => samWatch.latest()!.rate.remaining === 3, 5000, 'refill pushed');
    expect(samWatch.latest()).toMatchObject({ left: 3, quota: { limit: 5, remaining: 4 } });
    // One push per change: the writer's connect, the request, the refill (no polling in between).
    expect(samWatch.seen.length - samBefore).toBeLessThanOrEqual(3);
    expect(adaWatch.seen.length).toBe(adaBefore);
    expect(adaWatch.latest()).toMatchObject({ left: 3, quota: { remaining: 5 } });

    // The teacher lowers the quota: both students hear at once; Sam, who used one, has one left.
    const samAt = samWatch.seen.length;
    expect((await patch(teacher, { aiUsesPerMember: 2 })).status).toBe(200);
    await waitFor(() => samWatch.seen.length > samAt && adaWatch.latest()!.quota?.limit === 2, 5000, 'settings change pushed');
    expect(samWatch.latest()).toMatchObject({ enabled: true, quota: { limit: 2, remaining: 1 }, left: 1 });
    expect(adaWatch.latest()).toMatchObject({ quota: { limit: 2, remaining: 2 }, left: 2 });

    // The AI off: nothing left for anyone.
    expect((await patch(teacher, { aiMode: 'off' })).status).toBe(200);
    await waitFor(() => samWatch.latest()!.enabled === false && adaWatch.latest()!.enabled === false, 5000, 'ai off pushed');
    expect(samWatch.latest()!.left).toBe(0);

    // A viewer cannot ask, and is sent no allowance.
    expect(vicWatch.socket.connected).toBe(true);
    expect(vicWatch.seen).toEqual([]);
  }, 120_000);

  it('a refused request (quota spent) still answers with the allowance: 0 left, no reset', async () => {
    const teacher = await createRoom(srv.http, 'classroom', 'Mr Lee');
    expect((await patch(teacher, { aiMode: 'limited', aiUsesPerMember: 1 })).status).toBe(200);
    const kim = await joinRoom(srv.http, teacher.room.joinCode, 'Kim');
    const w = watch(kim);
    const writer = await connectMember(srv.port, kim.room.id, kim.token, kim.member.id);
    members.push(writer);
    const t = typeParagraph(writer.doc, 'Rain on the roof');
    await waitFor(() => w.seen.length > 0, 10_000, 'first allowance');
    const first = await call<Ack<{ proposal: ProposalInfo }>>(w.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 1 });
    expect(first.ok).toBe(true);
    await waitFor(() => w.latest()!.quota?.remaining === 0, 5000, 'quota spent');
    expect(w.latest()!.left).toBe(0);
    const at = w.seen.length;
    const second = await call<Ack<{ proposal: ProposalInfo }>>(w.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 1 });
    expect(second).toMatchObject({ ok: false, error: { code: 'quota_exhausted' } });
    await waitFor(() => w.seen.length > at, 5000, 'allowance after the refusal');
    expect(w.latest()).toMatchObject({ enabled: true, quota: { limit: 1, remaining: 0 }, left: 0 });
  }, 120_000);
});
