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
  private readonly votes: RateLimiter;
  private readonly recommendations: RateLimiter;

  constructor(limits: { vote: Bucket; recommend: Bucket }) {
    this.votes = new RateLimiter(limits.vote.burst, limits.vote.perMinute);
    this.recommendations = new RateLimiter(limits.recommend.burst, limits.recommend.perMinute);
  }

  /** Takes one token for the member, or throws `rate_limited` with when to retry. */
  take(event: CheapEvent, roomId: string, memberId: string): void {
    const limiter = event === 'proposal:vote' ? this.votes : this.recommendations;
    // next and dismiss share a limit but not a bucket: dismissing does not use up suggestions.
    const key = `${event}:${roomId}:${memberId}`;
    if (!limiter.take(key)) {
      throw new AgentError('rate_limited', `too many ${event} requests; try again in ${limiter.retryAfterSec(key)} s`);
    }
  }
}
