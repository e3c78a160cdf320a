import type { RequestBudget, RequestBudgets } from '../ports';
import { AgentError } from './errors';
import { RateLimiter } from './rate-limit';

/** The events that start no generation but still write feedback or rank the library. */
export type CheapEvent = 'proposal:vote' | 'recommend:next' | 'recommend:dismiss';

export interface Bucket {
  burst: number;
  perMinute: number;
}

/**
 * Per-member token buckets for votes, "what next" and dismissals (generation requests have their
 * own in RoomAgent). Without them one socket could write feedback rows or rank a large library as
 * fast as it can send.
 */
export class EventRateLimits {
  private readonly votes: RequestBudget;
  private readonly recommendations: RequestBudget;

  /** `shared`: budgets every process shares (ServerContext.sharedBudgets); else this process's memory. */
  constructor(limits: { vote: Bucket; recommend: Bucket }, shared?: RequestBudgets) {
    const budget = (name: string, b: Bucket) => shared?.(name, b.burst, b.perMinute) ?? new RateLimiter(b.burst, b.perMinute);
    this.votes = budget('votes', limits.vote);
    this.recommendations = budget('recommendations', limits.recommend);
  }

  /** Takes one token for the member, or throws `rate_limited` with when to retry. */
  async take(event: CheapEvent, roomId: string, memberId: string): Promise<void> {
    const limiter = event === 'proposal:vote' ? this.votes : this.recommendations;
    // next and dismiss share a limit but not a bucket: dismissing does not use up suggestions.
    const waitMs = await limiter.consume(`${event}:${roomId}:${memberId}`);
    if (waitMs > 0) throw new AgentError('rate_limited', `too many ${event} requests; try again in ${Math.ceil(waitMs / 1000)} s`);
  }
}
