import { StoreError } from './store-error';

export interface RetryOptions {
  /** Total tries, including the first (default 5). */
  attempts?: number;
  /** Delay before the first retry; doubles after each failure, with ±25 % jitter (default 100 ms). */
  baseMs?: number;
  /** Upper bound for a single delay (default 5 s). */
  maxMs?: number;
  /**
   * Return false to stop retrying. Default: retry anything except StoreErrors that a retry cannot
   * fix (conflict, invalid, not_found, closed).
   */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** Called before each retry, e.g. to log it. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `fn`, retrying with exponential backoff. Used for flushes to the store, where a transient
 * backend failure (a MongoDB failover, a busy SQLite file) must not lose updates.
 * Rethrows the last error once attempts are exhausted.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 5);
  const baseMs = options.baseMs ?? 100;
  const maxMs = options.maxMs ?? 5_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const shouldRetry = options.shouldRetry ?? isTransient;
      if (attempt >= attempts || !shouldRetry(error, attempt)) throw error;
      const exponential = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
      const delayMs = Math.round(exponential * (0.75 + Math.random() * 0.5));
      options.onRetry?.(error, attempt, delayMs);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

function isTransient(error: unknown): boolean {
  return !(error instanceof StoreError) || error.code === 'backend';
}
