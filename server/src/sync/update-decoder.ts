import { Worker } from 'node:worker_threads';
import { summarizeUpdate, type UpdateSummary } from './update-summary';

/**
 * Decodes client updates for the update guard. Small ones (typing) are decoded inline, which
 * costs microseconds; large ones on a worker thread, so that a member sending megabytes of
 * hostile structs (tens of ms of decoding each) does not stall every other room on the event
 * loop. The worker starts on first use and is shared by all rooms.
 */
export class UpdateDecoder {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (s: UpdateSummary) => void; reject: (err: Error) => void }>();

  constructor(private readonly inlineBelowBytes = 64 * 1024) {}

  /** Throws (or rejects) when the bytes are not a Yjs update. */
  summarize(update: Uint8Array): UpdateSummary | Promise<UpdateSummary> {
    if (update.byteLength < this.inlineBelowBytes) return summarizeUpdate(update);
    const worker = this.start();
    const id = this.nextId++;
    const copy = update.slice(); // the socket's buffer may be pooled: send a copy we own
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, update: copy }, [copy.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.failAll(new Error('update decoder closed'));
    await worker?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // From TypeScript sources, a small .mjs bootstrap registers tsx inside the worker thread.
    const url = new URL(import.meta.url.endsWith('.ts') ? './update-decoder-bootstrap.mjs' : './update-decoder-worker.js', import.meta.url);
    const worker = new Worker(url);
    worker.unref();
    worker.on('message', (msg: { id: number; summary?: UpdateSummary; error?: string }) => {
      const waiter = this.waiting.get(msg.id);
      if (!waiter) return;
      this.waiting.delete(msg.id);
      if (msg.summary) waiter.resolve(msg.summary);
      else waiter.reject(new Error(msg.error ?? 'undecodable update'));
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = null;
      this.failAll(err);
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('update decoder exited')));
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(err);
    this.waiting.clear();
  }
}
