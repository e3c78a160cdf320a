import { KeyedBudget } from '../limits/keyed-budget';
import type { BudgetStatus, RequestBudget } from '../ports';

/**
 * Token bucket per key: `capacity` requests at once, refilled at `perMinute` per minute. This
 * process's memory; with several processes ServerContext.sharedBudgets replaces it.
 */
export class RateLimiter implements RequestBudget {
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

  async consume(key: string): Promise<number> {
    return this.take(key) ? 0 : Math.max(1, this.budget.msUntil(key));
  }

  async standing(key: string): Promise<BudgetStatus> {
    return this.status(key);
  }

  /** Where the key stands: requests left now, and when the next one and a full budget come back. */
  status(key: string): BudgetStatus {
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
