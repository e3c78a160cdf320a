import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { BudgetStatus, RequestBudget, RequestBudgets } from '../ports';

/**
 * Request budgets in Redis (rate-limiter-flexible), shared by every process: a member's requests
 * count against one budget wherever they connect. A fixed window of `capacity` requests per
 * `capacity / perMinute` minutes, the same average rate as the in-memory token bucket. While Redis
 * does not answer each process falls back to a budget in its own memory (the `insuranceLimiter`):
 * requests go on, each process counting only its own.
 */
export function redisBudgets(client: Redis, prefix: string, logger: Logger): RequestBudgets {
  return (name, capacity, perMinute) => new RedisRequestBudget(client, `${prefix}budget:${name}`, capacity, perMinute, logger);
}

class RedisRequestBudget implements RequestBudget {
  private readonly limiter: RateLimiterRedis;
  private readonly points: number;
  private readonly refillEveryMs: number;

  constructor(client: Redis, keyPrefix: string, capacity: number, perMinute: number, logger: Logger) {
    if (!(capacity >= 1) || !(perMinute > 0)) throw new Error(`a request budget needs a capacity >= 1 and a rate > 0 (got ${capacity}, ${perMinute}/min)`);
    this.points = Math.floor(capacity);
    this.refillEveryMs = Math.round(60_000 / perMinute);
    const duration = Math.max(1, Math.round((this.points * 60) / perMinute));
    // Own memory while Redis is away; rejectIfRedisNotReady switches at once instead of waiting on the connection.
    const insuranceLimiter = new RateLimiterMemory({ keyPrefix, points: this.points, duration });
    this.limiter = new RateLimiterRedis({ storeClient: client, keyPrefix, points: this.points, duration, rejectIfRedisNotReady: true, insuranceLimiter });
    let warned = false;
    client.on('ready', () => (warned = false));
    client.on('close', () => {
      if (!warned) logger.warn({ budget: keyPrefix }, 'Redis is away: request budgets are counted per process until it is back');
      warned = true;
    });
  }

  async consume(key: string): Promise<number> {
    try {
      await this.limiter.consume(key);
      return 0;
    } catch (refusal) {
      if (refusal instanceof RateLimiterRes) return Math.max(1, refusal.msBeforeNext);
      throw refusal;
    }
  }

  async standing(key: string): Promise<BudgetStatus> {
    const res = await this.limiter.get(key);
    const remaining = res ? Math.max(0, res.remainingPoints) : this.points;
    const backInMs = res && remaining < this.points ? Math.max(0, res.msBeforeNext) : 0;
    // A fixed window: everything taken comes back at its end.
    return { capacity: this.points, remaining, nextInMs: backInMs, fullInMs: backInMs, refillEveryMs: this.refillEveryMs };
  }
}
