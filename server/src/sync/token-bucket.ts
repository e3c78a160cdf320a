/** One token bucket: `burst` events at once, refilled at `perSec` per second. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.at = now();
  }

  /** Takes `count` tokens; false (taking none) when there are not that many. */
  take(count = 1): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) * this.perSec) / 1000);
    this.at = t;
    if (this.tokens < count) return false;
    this.tokens -= count;
    return true;
  }
}
