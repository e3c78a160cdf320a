import { KeyedBudget } from '../limits/keyed-budget';

/** Token bucket per key: `capacity` requests at once, refilled at `perMinute` per minute. */
export class RateLimiter {
  private readonly budget: KeyedBudget;

  constructor(capacity: number, perMinute: number, now: () => number = Date.now) {
    this.budget = new KeyedBudget(perMinute / 60, capacity, now);
  }

  /** Takes one token; false when the key is over its rate. */
  take(key: string): boolean {
    return this.budget.take(key);
  }

  /** Seconds until the key has a token again. */
  retryAfterSec(key: string): number {
    return Math.ceil(this.budget.msUntil(key) / 1000);
  }
}
