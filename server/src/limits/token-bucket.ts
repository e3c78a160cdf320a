/** One token bucket: `burst` tokens at once, refilled at `perSec` per second. */
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
    this.refill();
    if (this.tokens < count) return false;
    this.tokens -= count;
    return true;
  }

  /** Takes `count` tokens even into debt; returns how many ms until the debt is paid (0: none). */
  charge(count: number): number {
    this.refill();
    this.tokens -= count;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.perSec);
  }

  /** How many ms until `count` tokens are there (0: now). */
  msUntil(count: number): number {
    this.refill();
    return this.tokens >= count ? 0 : Math.ceil(((count - this.tokens) * 1000) / this.perSec);
  }

  /** Whole tokens there now (what `take(1)` could take in a row). */
  get available(): number {
    this.refill();
    return Math.max(0, Math.floor(this.tokens));
  }

  /** Back at a full burst: the bucket carries no information any more. */
  get full(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) * this.perSec) / 1000);
    this.at = t;
  }
}
