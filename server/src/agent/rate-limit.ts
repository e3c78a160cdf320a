import { KeyedBudget } from '../limits/keyed-budget';

/** Token bucket per key: `capacity` requests at once, refilled at `perMinute` per minute. */
export class RateLimiter {
  private readonly budget: KeyedBudget;

  constructor(
    private readonly capacity: number,
    private readonly perMinute: number,
    now: () => number = Date.now,
  ) {
    this.budget = new KeyedBudget(perMinute / 60, capacity, now);
  }

  /** Takes one token; false when the key is over its rate. */
  take(key: string): boolean {
    return this.budget.take(key);
  }

  /** Where the key stands: requests left now, and when the next one and a full budget come back. */
  status(key: string): { capacity: number; remaining: number; nextInMs: number; fullInMs: number; refillEveryMs: number } {
    const capacity = Math.floor(this.capacity);
    const remaining = Math.min(capacity, this.budget.available(key));
    return {
      capacity,
      remaining,
      // When `remaining` goes up by one (the next whole request), not merely "when one is there".
      nextInMs: remaining < capacity ? this.budget.msUntil(key, remaining + 1) : 0,
      fullInMs: this.budget.msUntil(key, capacity),
      refillEveryMs: Math.round(60_000 / this.perMinute),
    };
  }

  /** Seconds until the key has a token again. */
  retryAfterSec(key: string): number {
    return Math.ceil(this.budget.msUntil(key) / 1000);
  }
}
