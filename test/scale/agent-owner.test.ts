/**
 * One AI collaborator per room across processes (server/src/scale/agent-leases.ts,
 * server/src/agent/ownership.ts): three real processes sharing Redis and MongoDB, the built-in
 * model slowed by ENSEMBLE_FAULT_STEP_DELAY_MS, members connected through different processes
 * with stock clients. Whichever process holds the room's lease runs its AI; the others forward.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AGENT_MEMBER_ID, storyText, type Ack, type ProposalInfo, type ProvenanceReport } from '../../shared/src/index';
import { anchorAtEnd, call, connectMember, createRoom, joinRoom, typeParagraph, waitFor, type Member } from '../agent/harness';
import { api, waitFor as waitUntil, type ServerProcess } from '../helpers/index';
import { sharedDeploymentEnv, startDeploymentProcess } from '../helpers/deployment';
import { redisGet, useTestRedis, type TestRedis } from '../helpers/redis';

const mongoUri = process.env.MONGODB_URI ?? inject('scaleMongoUri');
const LEASE_MS = 1500;

type Heard = { name: string; payload: any };

describe('one AI collaborator per room across processes', () => {
  let redis: TestRedis;
  let env: ReturnType<typeof sharedDeploymentEnv>;
  let procs: ServerProcess[] = [];
  const cleanup: Array<() => void | Promise<unknown>> = [];
  const members: Member[] = [];

  beforeAll(async () => {
    redis = await useTestRedis();
    env = sharedDeploymentEnv(redis, mongoUri);
    const aiEnv = { ...env, ENSEMBLE_DISABLE_AI: 'false', ENSEMBLE_DEVICE: 'cpu', ENSEMBLE_FAULT_STEP_DELAY_MS: '100', ENSEMBLE_AGENT_LEASE_MS: String(LEASE_MS) };
    procs = await Promise.all([0, 1, 2].map(() => startDeploymentProcess(aiEnv, cleanup)));
  }, 120_000);

  afterAll(async () => {
    for (const m of members) m.close();
    for (const fn of cleanup.splice(0).reverse()) await fn();
    await redis?.stop();
  });

  const port = (p: ServerProcess) => Number(new URL(p.url).port);
  const alive = (p: ServerProcess) => p.child.exitCode === null && p.child.signalCode === null;

  /** A room made on procs[0], with one editor connected through each process given (sync and /collab), every event recorded. */
  async function roomAcross(through: ServerProcess[]) {
    const owner = await createRoom(through[0]!.url);
    const heard: Heard[][] = [];
    const joined: Member[] = [];
    for (const [i, proc] of through.entries()) {
      const m = await joinRoom(proc.url, owner.room.joinCode, `Writer ${i}`);
      const member = await connectMember(port(proc), owner.room.id, m.token, m.member.id);
      members.push(member);
      joined.push(member);
      const mine: Heard[] = [];
      member.socket.onAny((name: string, payload: unknown) => mine.push({ name, payload }));
      heard.push(mine);
    }
    const opening = typeParagraph(joined[0]!.doc, 'The lighthouse keeper counted the ships again.');
    await waitFor(() => joined.every((m) => storyText(m.doc).includes('lighthouse keeper')), 15_000, 'the opening reached every process');
    const of = (i: number, name: string, id: string) => heard[i]!.filter((e) => e.name === name && e.payload?.proposalId === id);
    const request = async (i: number, alternatives = 1): Promise<ProposalInfo> => {
      const res = await call<Ack<{ proposal: ProposalInfo }>>(joined[i]!.socket, 'proposal:request', { anchor: anchorAtEnd(opening), mode: 'continue', alternatives });
      if (!res.ok) throw new Error(`proposal:request refused: ${res.error.code} ${res.error.message}`);
      return res.proposal;
    };
    return { owner, roomId: owner.room.id, members: joined, heard, of, request };
  }

  /** The live process holding the room's AI lease (its id is in the lease's value). */
  async function aiOwner(roomId: string): Promise<ServerProcess> {
    const ids = new Map<string, ServerProcess>();
    for (const p of procs.filter(alive)) ids.set((await api<{ processId: string }>(p.url, 'GET', '/healthz')).body.processId, p);
    let owner: ServerProcess | undefined;
    await waitUntil(async () => {
      const value = await redisGet(redis.url, `${env.ENSEMBLE_REDIS_PREFIX}agent:${roomId}`);
      owner = value ? ids.get(value.split(':')[0]!) : undefined;
      return owner !== undefined;
    }, { timeoutMs: 3 * LEASE_MS + 5000, message: 'a live process holds the AI lease' });
    return owner!;
  }

  it('a request made through one process streams to members on the others, and an accept through a third lands it once', async () => {
    const r = await roomAcross(procs);
    const proposal = await r.request(0);
    // Every member, whichever process it is on, sees the stream and its end.
    await waitFor(() => [0, 1, 2].every((i) => r.of(i, 'proposal:delta', proposal.id).length > 0), 30_000, 'deltas on every process');
    await waitFor(() => [0, 1, 2].every((i) => r.of(i, 'proposal:done', proposal.id).length === 1), 60_000, 'done on every process');
    const text: string = r.of(2, 'proposal:done', proposal.id)[0]!.payload.text;
    expect(text.trim().length).toBeGreaterThan(0);

    // The AI's presence comes from its owner alone: one entry at every member, whichever process it is on.
    const aiPresences = (m: Member) => [...m.provider.awareness.getStates().values()].filter((state) => state.user?.memberId === AGENT_MEMBER_ID).length;
    await waitFor(() => r.members.every((m) => aiPresences(m) >= 1), 10_000, 'the AI presence at every member');
    expect(r.members.map(aiPresences)).toEqual([1, 1, 1]);

    const accepted = await call<Ack>(r.members[2]!.socket, 'proposal:accept', { proposalId: proposal.id, alternative: 0 });
    expect(accepted).toEqual({ ok: true });
    // A second accept through another process meets the same proposal state: already accepted.
    const again = await call<Ack>(r.members[1]!.socket, 'proposal:accept', { proposalId: proposal.id, alternative: 0 });
    expect(again).toMatchObject({ ok: false, error: { code: 'conflict' } });

    // A continuation lands inline: its line breaks become spaces (insertAiText).
    const needle = text.replace(/\s*\n+\s*/g, ' ').trim().slice(0, 24);
    await waitFor(() => r.members.every((m) => storyText(m.doc).includes(needle)), 15_000, 'the accepted text reached every member');
    const story = storyText(r.members[0]!.doc);
    expect(story.split(needle).length - 1).toBe(1);
    const report = await api<ProvenanceReport>(procs[1]!.url, 'GET', `/api/rooms/${r.roomId}/provenance`, { token: r.owner.token });
    expect(report.status).toBe(200);
    const agents = report.body.authors.filter((a) => a.kind === 'agent');
    expect(agents).toHaveLength(1);
    expect(agents[0]!.memberId).toBe(AGENT_MEMBER_ID);
    expect(report.body.ai.acceptedBy).toEqual([expect.objectContaining({ memberId: r.members[2]!.memberId, proposals: 1 })]);
  }, 120_000);

  it('Stop through one process stops a proposal another process is generating', async () => {
    const r = await roomAcross(procs);
    const proposal = await r.request(0);
    await waitFor(() => r.of(1, 'proposal:delta', proposal.id).length > 0, 30_000, 'the stream reached member 1');
    const stopped = await call<Ack>(r.members[1]!.socket, 'proposal:stop', { proposalId: proposal.id });
    expect(stopped).toEqual({ ok: true });
    await waitFor(() => [0, 1, 2].every((i) => r.of(i, 'proposal:done', proposal.id).length === 1), 15_000, 'done on every process');
    for (const i of [0, 1, 2]) expect(r.of(i, 'proposal:done', proposal.id)[0]!.payload.finishReason).toBe('stopped');
  }, 90_000);

  it("the AI owner keeps serving members on other processes after its own members left: their accept still lands", async () => {
    const r = await roomAcross(procs);
    const ownerAt = procs.indexOf(await aiOwner(r.roomId));
    const others = [0, 1, 2].filter((i) => i !== ownerAt);
    const proposal = await r.request(ownerAt);
    await waitFor(() => others.every((i) => r.of(i, 'proposal:done', proposal.id).length === 1), 60_000, 'done on the other processes');
    // The only member on the owner's process leaves (sync and /collab): its document unloads there.
    r.members[ownerAt]!.close();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await aiOwner(r.roomId)).toBe(procs[ownerAt]);
    const accepted = await call<Ack>(r.members[others[0]!]!.socket, 'proposal:accept', { proposalId: proposal.id, alternative: 0 });
    expect(accepted).toEqual({ ok: true });
  }, 90_000);

  it('auto mode offers once for the room, not once per process', async () => {
    const r = await roomAcross(procs);
    const patched = await api(procs[0]!.url, 'PATCH', `/api/rooms/${r.roomId}/settings`, { body: { autoMode: true, autoPauseSec: 2 }, token: r.owner.token });
    expect(patched.status).toBe(200);
    // Every process sees this update; only the AI owner's pause timer may offer.
    typeParagraph(r.members[1]!.doc, 'Then the fog came in.');
    const autoStarts = (i: number) => r.heard[i]!.filter((e) => e.name === 'proposal:started' && e.payload.requestedBy?.memberId === AGENT_MEMBER_ID);
    await waitFor(() => autoStarts(0).length > 0, 30_000, 'an auto offer');
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(new Set(autoStarts(0).map((e) => e.payload.id)).size).toBe(1);
  }, 90_000);

  it('when the AI owner is killed mid-stream another process takes over: the proposal fails for everyone, a new request works', async () => {
    const r = await roomAcross(procs);
    const proposal = await r.request(0);
    await waitFor(() => r.of(0, 'proposal:delta', proposal.id).length > 0, 30_000, 'the stream started');
    const dead = await aiOwner(r.roomId);
    const survivors = procs.map((p, i) => ({ p, i })).filter(({ p }) => p !== dead).map(({ i }) => i);
    dead.child.kill('SIGKILL');
    await dead.exited;
    // The new owner ends what the dead one left half-written, for every member still connected.
    await waitFor(() => survivors.every((i) => r.of(i, 'proposal:failed', proposal.id).length > 0), 3 * LEASE_MS + 10_000, 'the orphaned proposal failed');
    const next = await aiOwner(r.roomId);
    expect(next).not.toBe(dead);
    const again = await r.request(survivors[1]!);
    await waitFor(() => survivors.every((i) => r.of(i, 'proposal:done', again.id).length === 1), 60_000, 'the new proposal done');
    // Nothing generated twice: one start per proposal at each member.
    for (const i of survivors) expect(r.heard[i]!.filter((e) => e.name === 'proposal:started' && e.payload.id === again.id)).toHaveLength(1);
  }, 120_000);
});
