import * as Y from 'yjs';
import type { UpdateSummary } from './update-summary';

export interface PendingLimits {
  /** Bytes of waiting updates one room holds. */
  maxBytes: number;
  /** How long an update may wait for what it depends on. */
  ttlMs: number;
}

export interface PendingEntry<S> {
  sender: S;
  update: Uint8Array;
  /** Its decoded form, kept so that applying it later does not decode it again. */
  summary: UpdateSummary;
  /** Client → the state that client must reach before the update can be applied. */
  needs: Map<number, number>;
  expires: number;
}

/**
 * Updates that depend on structs the room has not seen yet (a client that got them from another
 * tab before the server did). They wait here, outside the Y.Doc, so Yjs never holds pending
 * structs of its own: nothing half-integrated is ever persisted, re-merged on every update, or
 * sent to joiners. The buffer is bounded in bytes and time; what does not fit or expires is
 * dropped and its sender asked to resync.
 */
export class PendingUpdates<S> {
  private entries: PendingEntry<S>[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly limits: PendingLimits,
    /** Entries that waited too long; their senders should resync. */
    private readonly onExpired: (entries: PendingEntry<S>[]) => void,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  get byteSize(): number {
    return this.bytes;
  }

  /** Queues an update; false (and nothing queued) when the room's budget would be exceeded. */
  add(sender: S, update: Uint8Array, summary: UpdateSummary, needs: Map<number, number>): boolean {
    if (this.bytes + update.byteLength > this.limits.maxBytes) return false;
    this.entries.push({ sender, update, summary, needs, expires: Date.now() + this.limits.ttlMs });
    this.bytes += update.byteLength;
    this.schedule();
    return true;
  }

  /** Removes and returns the entries whose dependencies the document now has. */
  takeReady(doc: Y.Doc): PendingEntry<S>[] {
    if (this.entries.length === 0) return [];
    const ready: PendingEntry<S>[] = [];
    this.entries = this.entries.filter((e) => {
      for (const [client, clock] of e.needs) if (Y.getState(doc.store, client) < clock) return true;
      ready.push(e);
      return false;
    });
    for (const e of ready) this.bytes -= e.update.byteLength;
    return ready;
  }

  /** Drops every entry of `sender` (it was closed or asked to resync). */
  dropFrom(sender: S): void {
    this.entries = this.entries.filter((e) => {
      if (e.sender !== sender) return true;
      this.bytes -= e.update.byteLength;
      return false;
    });
  }

  clear(): void {
    this.entries = [];
    this.bytes = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer !== null || this.entries.length === 0) return;
    const wait = Math.max(0, Math.min(...this.entries.map((e) => e.expires)) - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = Date.now();
      const expired = this.entries.filter((e) => e.expires <= now);
      if (expired.length > 0) {
        this.entries = this.entries.filter((e) => e.expires > now);
        for (const e of expired) this.bytes -= e.update.byteLength;
        this.onExpired(expired);
      }
      this.schedule();
    }, wait + 5);
    this.timer.unref();
  }
}
