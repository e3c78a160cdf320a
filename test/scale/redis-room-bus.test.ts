import { createLogger } from '../../server/src/logger';
import { describe, expect, it } from 'vitest';
import { connectRedisScale, type RedisScale } from '../../server/src/scale';
import { testConfig, tempDataDir, waitFor } from '../helpers/index';
import { useRedisSuite } from '../helpers/deployment';

/** Two "processes" on one Redis: two scale instances with their own connections and process ids. */
describe('the Redis room bus', () => {
  const suite = useRedisSuite();
  const { cleanup } = suite;

  async function processes(env: Record<string, string> = {}): Promise<[RedisScale, RedisScale]> {
    const config = testConfig(tempDataDir(), {
      MONGODB_URI: 'mongodb://127.0.0.1:1/unused',
      ENSEMBLE_REDIS_URL: suite.redis.url,
      ENSEMBLE_REDIS_PREFIX: suite.redis.prefix('bus'),
      ...env,
    });
    const logger = createLogger({ LOG_LEVEL: 'silent' });
    const scales = [await connectRedisScale(config, logger), await connectRedisScale(config, logger)] as [RedisScale, RedisScale];
    for (const scale of scales) cleanup.push(() => scale.close());
    return scales;
  }

  it("delivers the other process's entries in order and never a process's own", async () => {
    const [a, b] = await processes();
    const atA = await a.bus.open('room-one-aaaa');
    const atB = await b.bus.open('room-one-aaaa');
    const seenByA: string[] = [];
    const seenByB: string[] = [];
    atA.start({ update: (u) => seenByA.push(Buffer.from(u).toString()), awareness: (u) => seenByA.push(`a:${Buffer.from(u).toString()}`), lost: () => seenByA.push('lost'), resync: () => undefined });
    atB.start({ update: (u) => seenByB.push(Buffer.from(u).toString()), awareness: () => undefined, lost: () => undefined, resync: () => undefined });
    for (let i = 0; i < 20; i++) atB.publishUpdate(Buffer.from(`b${i}`));
    atB.publishAwareness(Buffer.from('presence'));
    atA.publishUpdate(Buffer.from('from a'));
    await Promise.all([atA.published(), atB.published()]);
    await waitFor(() => seenByA.length === 21, { message: `A saw ${seenByA.length} entries` });
    expect(seenByA).toEqual([...Array.from({ length: 20 }, (_, i) => `b${i}`), 'a:presence']);
    await waitFor(() => seenByB.length === 1);
    expect(seenByB).toEqual(['from a']);
    expect(await atA.caughtUp()).toBe(true);
  });

  it('a room started while the read blocks on another room is read at once, not after the block times out', async () => {
    const [a, b] = await processes();
    const first = await a.bus.open('room-first-aaaa');
    first.start({ update: () => undefined, awareness: () => undefined, lost: () => undefined, resync: () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 200)); // A's reader is now blocked (5 s) on the first room only
    const second = await a.bus.open('room-second-aaaa');
    const seen: string[] = [];
    second.start({ update: (u) => seen.push(Buffer.from(u).toString()), awareness: () => undefined, lost: () => undefined, resync: () => undefined });
    const writer = await b.bus.open('room-second-aaaa');
    const sentAt = Date.now();
    writer.publishUpdate(Buffer.from('hello'));
    await waitFor(() => seen.length === 1, { timeoutMs: 10_000 });
    expect(Date.now() - sentAt).toBeLessThan(2500);
  });

  it('the compaction lease is held by one process at a time and handed over when its holder closes the room', async () => {
    const [a, b] = await processes();
    const atA = await a.bus.open('room-lease-aaaa');
    const atB = await b.bus.open('room-lease-aaaa');
    expect(await atA.claimCompaction()).toBe(true);
    expect(await atA.claimCompaction()).toBe(true); // renewing
    expect(await atB.claimCompaction()).toBe(false);
    atA.close();
    await waitFor(async () => await atB.claimCompaction(), { message: 'the lease was not released' });
  });

  it('a room whose stream was trimmed past what the process had read is reported lost (and one that was not, is not)', async () => {
    const [a, b] = await processes({ ENSEMBLE_REDIS_STREAM_MAXLEN: '100' });
    const writer = await b.bus.open('room-trim-aaaa');
    writer.publishUpdate(Buffer.from('before'));
    await writer.published();
    // A opens the room (noting where the stream ends), then B adds far more than the stream keeps.
    const atA = await a.bus.open('room-trim-aaaa');
    for (let i = 0; i < 500; i++) writer.publishUpdate(Buffer.from(`u${i}`));
    await writer.published();
    let lost = 0;
    const seen: string[] = [];
    atA.start({ update: (u) => seen.push(Buffer.from(u).toString()), awareness: () => undefined, lost: () => lost++, resync: () => undefined });
    await waitFor(() => seen.at(-1) === 'u499', { message: 'A did not read to the end' });
    expect(lost).toBe(1);

    // A room opened after the trimming misses nothing it needs.
    const fresh = await a.bus.open('room-trim-aaaa');
    let freshLost = 0;
    const freshSeen: string[] = [];
    fresh.start({ update: (u) => freshSeen.push(Buffer.from(u).toString()), awareness: () => undefined, lost: () => freshLost++, resync: () => undefined });
    writer.publishUpdate(Buffer.from('after'));
    await waitFor(() => freshSeen.at(-1) === 'after');
    expect(freshLost).toBe(0);
  });
});
