/**
 * The fencing token at work: two in-process servers sharing Redis and MongoDB; the room's AI
 * owner stalls past its lease (the lease is expired under it), the other process takes the room,
 * and the stale owner's late accept is refused before it touches the document.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { storyText, type Ack, type ProposalInfo } from '../../shared/src/index';
import { anchorAtEnd, call, connectMember, createRoom, joinRoom, removeDir, startServer, typeParagraph, waitFor, type Member, type TestServer } from '../agent/harness';
import { sharedDeploymentEnv } from '../helpers/deployment';
import { waitFor as waitUntil } from '../helpers/index';
import { redisCommand, redisGet, useTestRedis, type TestRedis } from '../helpers/redis';

const mongoUri = process.env.MONGODB_URI ?? inject('scaleMongoUri');

describe('a stale AI owner', () => {
  let redis: TestRedis;
  const servers: TestServer[] = [];
  const members: Member[] = [];
  beforeAll(async () => {
    redis = await useTestRedis();
  });
  afterAll(async () => {
    for (const m of members) m.close();
    for (const s of servers.reverse()) {
      await s.close();
      removeDir(s.dataDir);
    }
    await redis?.stop();
  });

  it("cannot write after another process took the room's lease: its accept is refused by the fencing check", async () => {
    // A long lease: the stale owner's next renewal is 20 s away, so only the fencing check can stop it.
    const env = { ...sharedDeploymentEnv(redis, mongoUri), ENSEMBLE_AGENT_LEASE_MS: '60000' };
    const a = await startServer({ env });
    servers.push(a);
    const owner = await createRoom(a.http);
    const roomId = owner.room.id;
    const atA = await connectMember(a.port, roomId, owner.token, owner.member.id);
    members.push(atA);
    const done: string[] = [];
    atA.socket.on('proposal:done', (e) => done.push(e.proposalId));
    const accepted: string[] = [];
    atA.socket.on('proposal:accepted', (e) => accepted.push(e.proposalId));
    const opening = typeParagraph(atA.doc, 'The ferry left without its captain.');
    const res = await call<Ack<{ proposal: ProposalInfo }>>(atA.socket, 'proposal:request', { anchor: anchorAtEnd(opening), mode: 'continue', alternatives: 1 });
    if (!res.ok) throw new Error(`proposal:request refused: ${res.error.code} ${res.error.message}`);
    await waitFor(() => done.includes(res.proposal.id), 30_000, 'the proposal done');
    const leaseKey = `${env.ENSEMBLE_REDIS_PREFIX}agent:${roomId}`;
    const processA = a.server.context.agentLeases!.processId;
    expect((await redisGet(redis.url, leaseKey))?.split(':')[0]).toBe(processA);

    // A stalls past its ttl (the lease expires under it), and B, where a member connects now, takes the room.
    expect(await redisCommand(redis.url, ['PEXPIRE', leaseKey, '1'])).toBe('1');
    const b = await startServer({ env });
    servers.push(b);
    const editor = await joinRoom(b.http, owner.room.joinCode, 'Ed');
    const atB = await connectMember(b.port, roomId, editor.token, editor.member.id);
    members.push(atB);
    const processB = b.server.context.agentLeases!.processId;
    await waitUntil(async () => (await redisGet(redis.url, leaseKey))?.split(':')[0] === processB, { timeoutMs: 10_000, message: 'B holds the lease' });

    const stale = a.agent.roomAgent(roomId)!;
    expect(stale.isOwner).toBe(true); // it has not noticed: no renewal since
    const before = storyText(atA.doc);
    await expect(stale.accept({ memberId: owner.member.id, displayName: 'Olivia', role: 'owner' }, res.proposal.id, 0)).rejects.toMatchObject({ code: 'busy' });
    expect(stale.isOwner).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(storyText(atA.doc)).toBe(before);
    expect(storyText(atB.doc)).toBe(before);
    expect(accepted).toEqual([]);
    // The token in Redis grew past the stale one's.
    expect(Number((await redisGet(redis.url, leaseKey))!.split(':')[1])).toBeGreaterThan(1);
  }, 90_000);
});
