import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/src/logger';
import type { RoomChannelListener } from '../../server/src/ports';
import { connectRedisScale, type RedisScale } from '../../server/src/scale';
import { testConfig, tempDataDir, waitFor } from '../helpers/index';
import { type OwnedRedis, ownRedisServer } from '../helpers/redis';

/**
 * The room bus and the shared budgets of two "processes" (two scale instances) while the
 * redis-server the test owns is killed and started again on its port.
 */
describe('the Redis room bus while Redis is away', () => {
  const cleanup: Array<() => void | Promise<unknown>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  const ownRedis = (port?: number) => ownRedisServer(cleanup, port);

  async function processes(redis: OwnedRedis): Promise<[RedisScale, RedisScale]> {
    const config = testConfig(tempDataDir(), { MONGODB_URI: 'mongodb://127.0.0.1:1/unused', ENSEMBLE_REDIS_URL: redis.url, ENSEMBLE_REDIS_PREFIX: redis.prefix('degraded') });
    const logger = createLogger({ LOG_LEVEL: 'silent' });
    const scales = [await connectRedisScale(config, logger), await connectRedisScale(config, logger)] as [RedisScale, RedisScale];
    for (const scale of scales) cleanup.push(() => scale.close());
    return scales;
  }

  function listener(seen: string[], resyncs: boolean[]): RoomChannelListener {
    return { update: (u) => seen.push(Buffer.from(u).toString()), awareness: () => undefined, lost: () => seen.push('lost'), resync: (store) => resyncs.push(store) };
  }

  it('publishing resolves at once while Redis is down; on recovery the rooms re-sync (storing only where updates went unpublished), and rooms opened meanwhile read again', async () => {
    const redis = await ownRedis();
    const [a, b] = await processes(redis);
    const busy = await a.bus.open('room-busy-aaaa');
    const idle = await a.bus.open('room-idle-aaaa');
    const busyResyncs: boolean[] = [];
    const idleResyncs: boolean[] = [];
    busy.start(listener([], busyResyncs));
    idle.start(listener([], idleResyncs));
    const seenByB: string[] = [];
    const atB = await b.bus.open('room-busy-aaaa');
    atB.start(listener(seenByB, []));

    await redis.kill('SIGKILL');
    await waitFor(() => a.status() === 'down' && b.status() === 'down', { message: `status: ${a.status()}, ${b.status()}` });
    busy.publishUpdate(Buffer.from('while down'));
    // Storing waits for `published`: it must not wait for Redis.
    const settled = await Promise.race([busy.published().then(() => 'settled'), new Promise((r) => setTimeout(() => r('waiting'), 500))]);
    expect(settled).toBe('settled');
    expect(busy.unpublished).toBe(true);
    expect(await busy.claimCompaction()).toBe(false);
    expect(await busy.caughtUp()).toBe(false);
    // A room opened now serves at once, and is placed on its stream when Redis is back.
    const late = await Promise.race([b.bus.open('room-late-aaaa'), new Promise<null>((r) => setTimeout(() => r(null), 500))]);
    expect(late).not.toBeNull();
    const seenLate: string[] = [];
    late!.start(listener(seenLate, []));
    // The shared budgets fall back to this process's memory instead of waiting.
    const budget = a.budgets('test', 2, 60);
    expect(await budget.consume('member')).toBe(0);
    expect(await budget.consume('member')).toBe(0);
    expect(await budget.consume('member')).toBeGreaterThan(0);

    const restarted = await ownRedis(redis.port);
    await waitFor(() => a.status() === 'ready' && b.status() === 'ready', { timeoutMs: 15_000, message: `status: ${a.status()}, ${b.status()}` });
    await waitFor(() => busyResyncs.length === 1 && idleResyncs.length === 1, { message: 'the rooms did not re-sync' });
    expect(busyResyncs).toEqual([true]);
    expect(idleResyncs).toEqual([false]);
    expect(busy.unpublished).toBe(false);
    // Publishing works again, and reaches B (also in the room B opened while Redis was down).
    busy.publishUpdate(Buffer.from('after'));
    const atA = await a.bus.open('room-late-aaaa');
    atA.start(listener([], []));
    atA.publishUpdate(Buffer.from('late room'));
    await waitFor(() => seenByB.includes('after') && seenLate.includes('late room'), { message: `B saw ${seenByB.join(',')} / ${seenLate.join(',')}` });
    expect(seenByB).not.toContain('lost');

    // Shutting down while Redis is away does not wait for it (QUIT would be queued forever).
    await restarted.kill('SIGKILL');
    await waitFor(() => a.status() === 'down');
    const closing = await Promise.race([a.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('hung'), 3000))]);
    expect(closing).toBe('closed');
  });
});
