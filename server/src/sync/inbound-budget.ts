/**
 * How many bytes per second each member may make the server decode and check, across all of its
 * connections (a member reconnecting does not get a fresh budget). Past the burst, the member's
 * sockets are simply not read until the budget has refilled: TCP backpressure slows the sender
 * down and nothing is dropped, so a client that pastes a large document only waits a moment,
 * while a flood costs the server at most `bytesPerSec` of work.
 */
export class InboundBudget {
  private readonly members = new Map<string, { tokens: number; at: number }>();
  private charges = 0;

  constructor(
    private readonly bytesPerSec: number,
    private readonly burstBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Charges `bytes` to `memberId`; returns how many ms its sockets should not be read (0: go on). */
  charge(memberId: string, bytes: number): number {
    const t = this.now();
    const entry = this.members.get(memberId) ?? { tokens: this.burstBytes, at: t };
    entry.tokens = Math.min(this.burstBytes, entry.tokens + ((t - entry.at) * this.bytesPerSec) / 1000) - bytes;
    entry.at = t;
    this.members.set(memberId, entry);
    if (++this.charges % 1024 === 0) this.forgetRefilled(t);
    return entry.tokens >= 0 ? 0 : Math.ceil((-entry.tokens * 1000) / this.bytesPerSec);
  }

  /** Entries back at a full burst carry no information: drop them so the map stays small. */
  private forgetRefilled(t: number): void {
    for (const [id, e] of this.members) if (e.tokens + ((t - e.at) * this.bytesPerSec) / 1000 >= this.burstBytes) this.members.delete(id);
  }
}
