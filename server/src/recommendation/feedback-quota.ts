import type { AiRecordStore } from '../storage/store';

/**
 * Bounds the feedback rows one member can make the store keep in one room. Counts start from the
 * store (once per member) and are reserved before the write, so concurrent events cannot overshoot.
 */
export class FeedbackQuota {
  private readonly counts = new Map<string, Promise<{ n: number }>>();

  constructor(
    private readonly store: Pick<AiRecordStore, 'listFeedback'>,
    private readonly max: number,
  ) {}

  /** True (and counted) when the member may store one more row. */
  async reserve(roomId: string, memberId: string): Promise<boolean> {
    const count = await this.count(roomId, memberId);
    if (count.n >= this.max) return false;
    count.n++;
    return true;
  }

  /** The reserved row was not written after all. */
  unreserve(roomId: string, memberId: string): void {
    void this.counts.get(key(roomId, memberId))?.then((count) => {
      count.n = Math.max(0, count.n - 1);
    });
  }

  private count(roomId: string, memberId: string): Promise<{ n: number }> {
    const k = key(roomId, memberId);
    let count = this.counts.get(k);
    if (!count) {
      count = this.store.listFeedback(roomId, memberId).then((rows) => ({ n: rows.length }));
      count.catch(() => this.counts.delete(k)); // a failed read is retried next time
      this.counts.set(k, count);
    }
    return count;
  }
}

const key = (roomId: string, memberId: string): string => `${roomId}\u0000${memberId}`;
