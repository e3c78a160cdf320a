import { describe, expect, it } from 'vitest';
import { redisAnswers, startRedisServer, useTestRedis } from '../helpers/redis';

describe('test Redis helper', () => {
  it('starts a redis-server of its own on a free port and stops it', async () => {
    const redis = await startRedisServer(10_000);
    const { hostname, port } = new URL(redis.url);
    expect(await redisAnswers(hostname, Number(port))).toBe(true);
    await redis.stop();
    expect(await redisAnswers(hostname, Number(port))).toBe(false);
  });

  it('hands every caller its own key prefix', async () => {
    const redis = await useTestRedis();
    try {
      expect(redis.prefix('a')).not.toBe(redis.prefix('a'));
    } finally {
      await redis.stop();
    }
  });
});
