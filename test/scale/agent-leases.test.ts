import { describe, expect, it } from 'vitest';
import { createLogger } from '../../server/src/logger';
import { connectRedisScale, type RedisScale } from '../../server/src/scale';
import { testConfig, tempDataDir, waitFor } from '../helpers/index';
import { redisCommand } from '../helpers/redis';
import { useRedisSuite } from '../helpers/deployment';

const ROOM = 'room-lease-aaaa';

/** Two "processes" on one Redis (two scale instances): the room's AI lease and the command relay between them. */
describe('the AI lease and the agent command relay', () => {
  const suite = useRedisSuite();
  const { cleanup } = suite;

  let prefix = '';
  async function processes(leaseMs = 600): Promise<[RedisScale, RedisScale]> {
    prefix = suite.redis.prefix('lease');
    const config = testConfig(tempDataDir(), {
      MONGODB_URI: 'mongodb://127.0.0.1:1/unused',
      ENSEMBLE_REDIS_URL: suite.redis.url,
      ENSEMBLE_REDIS_PREFIX: prefix,
      ENSEMBLE_AGENT_LEASE_MS: String(leaseMs),
    });
    const logger = createLogger({ LOG_LEVEL: 'silent' });
    const scales = [await connectRedisScale(config, logger), await connectRedisScale(config, logger)] as [RedisScale, RedisScale];
    for (const scale of scales) cleanup.push(() => scale.close());
    return scales;
  }

  function recorder() {
    const log: string[] = [];
    return { log, events: { gained: (token: number) => log.push(`gained:${token}`), lost: () => log.push('lost') } };
  }

  it('one holder at a time; the next holder gets a larger fencing token and the old token is refused', async () => {
    const [a, b] = await processes();
    const atA = recorder();
    const atB = recorder();
    await a.agentLeases.hold(ROOM, atA.events);
    await b.agentLeases.hold(ROOM, atB.events);
    expect(atA.log).toEqual(['gained:1']);
    expect(atB.log).toEqual([]);
    expect(await a.agentLeases.holder(ROOM)).toBe(a.agentLeases.processId);
    expect(await a.agentLeases.isCurrent(ROOM, 1)).toBe(true);
    // Renewal keeps it well past the ttl.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(atB.log).toEqual([]);
    a.agentLeases.release(ROOM);
    await waitFor(() => atB.log.length > 0, { timeoutMs: 3000 });
    expect(atB.log).toEqual(['gained:2']);
    expect(await a.agentLeases.isCurrent(ROOM, 1)).toBe(false);
    expect(await b.agentLeases.isCurrent(ROOM, 2)).toBe(true);
  });

  it('a holder whose lease expired (it stalled) and was taken finds out: its token is refused and it hears lost', async () => {
    const [a, b] = await processes();
    const atA = recorder();
    const atB = recorder();
    await a.agentLeases.hold(ROOM, atA.events);
    await b.agentLeases.hold(ROOM, atB.events);
    // As if A had stalled past its ttl: the lease expires now, and B takes it at its next try.
    expect(await redisCommand(suite.redis.url, ['PEXPIRE', `${prefix}agent:${ROOM}`, '1'])).toBe('1');
    await waitFor(() => atB.log.length > 0 && atA.log.length > 1, { timeoutMs: 3000 });
    expect(atB.log).toEqual(['gained:2']);
    expect(atA.log).toEqual(['gained:1', 'lost']);
    expect(await a.agentLeases.isCurrent(ROOM, 1)).toBe(false);
    expect(await b.agentLeases.holder(ROOM)).toBe(b.agentLeases.processId);
  });

  it('relays a command to the named process and its answer back; a process nobody listens for answers notOwner', async () => {
    const [a, b] = await processes();
    b.agentRelay.serve(async (command) => ({ ok: true, result: { echoed: command.payload, by: command.actor.memberId } }));
    const command = { roomId: ROOM, event: 'proposal:stop', actor: { memberId: 'm1', displayName: 'M', role: 'editor' as const }, payload: { proposalId: 'p1' } };
    expect(await a.agentRelay.send(b.agentLeases.processId, command)).toEqual({ ok: true, result: { echoed: { proposalId: 'p1' }, by: 'm1' } });
    expect(await a.agentRelay.send('no-such-process', command)).toMatchObject({ ok: false, notOwner: true });
  });
});
