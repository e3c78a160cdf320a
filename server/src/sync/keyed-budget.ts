/**
 * A token bucket per key (a member) that may go into debt: `charge` takes what was used and says
 * how long to wait until the debt is paid. The sync endpoint keeps two: bytes a member may make
 * it decode (past the burst its sockets are not read until the debt is paid — TCP backpressure
 * slows the sender, nothing is dropped, so a large paste only waits a moment while a flood costs
 * at most the rate), and websocket upgrades per member (so closing and reconnecting does not
 * buy a fresh budget). Charges are per member across all of its connections.
 */
export class KeyedBudget {
  private readonly members = new Map<string, { tokens: number; at: number }>();
  private charges = 0;

  constructor(
    private readonly perSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** How long `key` must wait before its debt is paid (0: none), without charging anything. */
  waitMs(key: string): number {
    return this.charge(key, 0);
  }

  /** Charges `amount` to `key`; returns how many ms it should wait (0: go on). */
  charge(key: string, amount: number): number {
    const t = this.now();
    const entry = this.members.get(key) ?? { tokens: this.burst, at: t };
    entry.tokens = Math.min(this.burst, entry.tokens + ((t - entry.at) * this.perSec) / 1000) - amount;
    entry.at = t;
    this.members.set(key, entry);
    if (++this.charges % 1024 === 0) this.forgetRefilled(t);
    return entry.tokens >= 0 ? 0 : Math.ceil((-entry.tokens * 1000) / this.perSec);
  }

  /** Entries back at a full burst carry no information: drop them so the map stays small. */
  private forgetRefilled(t: number): void {
    for (const [id, e] of this.members) if (e.tokens + ((t - e.at) * this.perSec) / 1000 >= this.burst) this.members.delete(id);
  }
}
