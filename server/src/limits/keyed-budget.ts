import { TokenBucket } from './token-bucket';

/**
 * A token bucket per key (a member, an address). `take` refuses without charging; `charge` may go
 * into debt and says how long to wait until it is paid. The sync endpoint keeps two charged
 * budgets: bytes a member may make it decode (past the burst its sockets are not read until the
 * debt is paid — TCP backpressure slows the sender, nothing is dropped, so a large paste only
 * waits a moment while a flood costs at most the rate), and websocket upgrades per member (so
 * closing and reconnecting does not buy a fresh budget).
 */
export class KeyedBudget {
  private readonly buckets = new Map<string, TokenBucket>();
  private uses = 0;

  constructor(
    private readonly perSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `amount` for `key`; false (taking nothing) when it does not have that much. */
  take(key: string, amount = 1): boolean {
    return this.bucket(key).take(amount);
  }

  /** Charges `amount` to `key`; returns how many ms it should wait (0: go on). */
  charge(key: string, amount: number): number {
    return this.bucket(key).charge(amount);
  }

  /** How long `key` must wait before its debt is paid (0: none), without charging anything. */
  waitMs(key: string): number {
    return this.charge(key, 0);
  }

  /** How many ms until `key` has `amount` again (0: now). */
  msUntil(key: string, amount = 1): number {
    return this.buckets.get(key)?.msUntil(amount) ?? 0;
  }

  /** Whole tokens `key` has now (a key never seen has the full burst). */
  available(key: string): number {
    return this.buckets.get(key)?.available ?? Math.floor(this.burst);
  }

  private bucket(key: string): TokenBucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.perSec, this.burst, this.now);
      this.buckets.set(key, bucket);
    }
    // Buckets back at a full burst carry no information: drop them now and then so the map stays small.
    if (++this.uses % 1024 === 0) for (const [k, b] of this.buckets) if (b !== bucket && b.full) this.buckets.delete(k);
    return bucket;
  }
}
