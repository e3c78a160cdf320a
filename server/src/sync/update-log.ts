import * as Y from 'yjs';
import type { Logger } from 'pino';
import type { RoomChannel } from '../ports';
import type { DocumentLog } from '../storage/store';

export interface UpdateLogOptions {
  flushMs: number;
  compactEvery: number;
  logger: Logger;
  /** Called for every failed store write (the store wrapper counts errors; this counts retries). */
  onRetry?: (op: 'appendUpdates' | 'writeSnapshot') => void;
  /** Other processes append to the same log (ENSEMBLE_REDIS_URL): see `compactShared`. */
  shared?: Pick<RoomChannel, 'published' | 'claimCompaction' | 'caughtUp'>;
}

/**
 * A room's durable update log with group commit: updates are buffered and appended as one batch
 * within `flushMs` of the first one's arrival; while a write is in flight, new updates gather
 * into the next batch. Once `compactEvery` updates sit in the log it is compacted into a snapshot
 * of the live document. A failed append is retried with backoff, forever while the server runs
 * (the document stays loaded and keeps the updates), and once `stop()` was called only until its
 * signal says to give up; `unflushed()` then holds what never reached the store.
 */
export class UpdateLog {
  private pending: Uint8Array[] = [];
  /** The batch being written right now (kept so a shutdown can still save it elsewhere). */
  private inFlight: Uint8Array[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private giveUp: AbortSignal | null = null;
  private wakeRetry: (() => void) | null = null;
  /** The document is no longer trusted (it is being reset): append, but never snapshot it. */
  private compactionFrozen = false;

  constructor(
    private readonly roomId: string,
    private readonly doc: Y.Doc,
    private readonly store: DocumentLog,
    private readonly options: UpdateLogOptions,
    /** Seq of the last stored update (or of the snapshot) when the document was loaded. */
    private lastSeq: number,
    /** Log entries after the snapshot when the document was loaded. */
    private sinceSnapshot: number,
  ) {}

  get pendingCount(): number {
    return this.pending.length;
  }

  get busy(): boolean {
    return this.pending.length > 0 || this.running !== null;
  }

  push(update: Uint8Array): void {
    this.pending.push(update);
    if (this.timer === null && this.running === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush().catch((err: unknown) => this.options.logger.error({ err, roomId: this.roomId }, 'flush failed'));
      }, this.options.flushMs);
    }
  }

  /** Writes everything buffered so far; resolves once it is stored. */
  flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.running === null && this.pending.length === 0) return Promise.resolve();
    return this.run();
  }

  /**
   * Another process's update was applied (that process stores it): it counts towards compaction,
   * which this process may do once it holds the room's compaction lease.
   */
  noteRemote(): void {
    this.sinceSnapshot++;
    if (this.compactionDue() && this.running === null && this.timer === null) {
      this.run().catch((err: unknown) => this.options.logger.error({ err, roomId: this.roomId }, 'compaction failed'));
    }
  }

  private run(): Promise<void> {
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private compactionDue(): boolean {
    return this.sinceSnapshot >= this.options.compactEvery && !this.compactionFrozen;
  }

  freezeCompaction(): void {
    this.compactionFrozen = true;
  }

  /** Updates not (known to be) in the store yet: the batch in flight, then everything buffered. */
  unflushed(): Uint8Array[] {
    return this.inFlight.concat(this.pending);
  }

  /**
   * Shutdown: retry a failing store right away instead of after the current backoff, and keep
   * retrying only until `giveUp` aborts (the grace period); a flush then rejects.
   */
  stop(giveUp: AbortSignal): void {
    this.giveUp = giveUp;
    this.wakeRetry?.();
  }

  private async drain(): Promise<void> {
    // Only remote updates arrived: nothing to append, maybe a compaction.
    if (this.pending.length === 0 && this.compactionDue()) await this.compact();
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      this.inFlight = batch;
      let seq = 0;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.options.shared?.published();
          seq = await this.store.appendUpdates(this.roomId, batch);
          break;
        } catch (err) {
          this.options.onRetry?.('appendUpdates');
          this.options.logger.warn({ err, roomId: this.roomId, attempt, updates: batch.length }, 'appending updates failed; retrying');
          if (!this.giveUp?.aborted) await this.retryDelay(Math.min(50 * 2 ** attempt, 5000));
          if (this.giveUp?.aborted) {
            this.inFlight = [];
            this.pending = batch.concat(this.pending);
            throw err;
          }
        }
      }
      this.inFlight = [];
      this.lastSeq = seq;
      this.sinceSnapshot += batch.length;
      if (this.compactionDue()) await this.compact();
    }
  }

  /** Backoff before the next attempt; cut short by `stop()` and by giving up. */
  private retryDelay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const giveUp = this.giveUp;
      const done = () => {
        clearTimeout(timer);
        giveUp?.removeEventListener('abort', done);
        this.wakeRetry = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      giveUp?.addEventListener('abort', done);
      this.wakeRetry = done;
    });
  }

  /**
   * Snapshot of the live document, covering the log through `lastSeq`. The document may already
   * hold updates still buffered (seq > lastSeq); replaying those over the snapshot is harmless.
   */
  private async compact(): Promise<void> {
    if (this.options.shared) return this.compactShared(this.options.shared);
    const snapshot = Y.encodeStateAsUpdate(this.doc);
    try {
      await this.store.writeSnapshot(this.roomId, snapshot, this.lastSeq);
      this.sinceSnapshot = 0;
    } catch (err) {
      this.options.onRetry?.('writeSnapshot');
      this.options.logger.warn({ err, roomId: this.roomId }, 'compaction failed; will retry after the next append');
    }
  }

  /**
   * Compaction while other processes append to the log too. A snapshot through seq H must hold
   * every update with seq <= H, including theirs. Every process puts an update on the bus before
   * it stores it (`published` in `drain`), so each seq <= H (read first) belonged to an update
   * already on the bus: once this process has applied everything the bus holds (`caughtUp`), its
   * document has them all. The stored document is merged in as well, for updates stored without
   * the bus (recovery files). Concurrent compactions are therefore each safe; the lease only
   * keeps the processes from doing the same work. Another process holding it: try again after
   * another `compactEvery` updates (it may be gone by then).
   */
  private async compactShared(shared: NonNullable<UpdateLogOptions['shared']>): Promise<void> {
    const merged = new Y.Doc();
    try {
      if (!(await shared.claimCompaction())) {
        this.sinceSnapshot = 0;
        return;
      }
      const head = await this.store.appendUpdates(this.roomId, []);
      if (!(await shared.caughtUp())) return;
      const stored = await this.store.loadDocument(this.roomId);
      merged.transact(() => {
        Y.applyUpdate(merged, Y.encodeStateAsUpdate(this.doc));
        if (stored.snapshot) Y.applyUpdate(merged, stored.snapshot);
        for (const { data } of stored.updates) Y.applyUpdate(merged, data);
      });
      await this.store.writeSnapshot(this.roomId, Y.encodeStateAsUpdate(merged), head);
      this.sinceSnapshot = 0;
    } catch (err) {
      this.options.onRetry?.('writeSnapshot');
      this.options.logger.warn({ err, roomId: this.roomId }, 'compaction failed; will retry after the next append');
    } finally {
      merged.destroy();
    }
  }
}
