import { parentPort } from 'node:worker_threads';
import { summarizeUpdate, transferables } from './update-summary';

/** The UpdateDecoder's worker thread: update bytes in, UpdateSummary out (or why it is not one). */
parentPort!.on('message', ({ id, update }: { id: number; update: Uint8Array }) => {
  try {
    const summary = summarizeUpdate(update);
    parentPort!.postMessage({ id, summary }, transferables(summary));
  } catch (err) {
    parentPort!.postMessage({ id, error: (err as Error).message });
  }
});
