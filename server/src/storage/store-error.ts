/** Why a store operation failed, so callers can map it (e.g. conflict → HTTP 409) without parsing text. */
export type StoreErrorCode = 'conflict' | 'not_found' | 'invalid' | 'closed' | 'backend';

/**
 * A failed store operation. The message names the operation and the room, e.g.
 * `createJoinCode failed for room abc123: join code ABC123 is already in use`.
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly operation: string,
    readonly roomId: string | null,
    readonly code: StoreErrorCode,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation} failed${roomId ? ` for room ${roomId}` : ''}: ${detail}`, options);
  }

  /** Wraps any error thrown by a backend driver; StoreErrors pass through unchanged. */
  static wrap(operation: string, roomId: string | null, error: unknown): StoreError {
    if (error instanceof StoreError) return error;
    const detail = error instanceof Error ? error.message : String(error);
    return new StoreError(operation, roomId, 'backend', detail, { cause: error });
  }
}

/**
 * A backend's open handle, and the one place where that backend's failures become StoreErrors:
 * every slice method runs its driver calls through `run`. Closed (or never opened) fails with
 * code 'closed'; anything a driver throws becomes code 'backend'; StoreErrors pass through.
 */
export class BackendHandle<H> {
  private current: H | null = null;

  /** `backend` names the store in the 'closed' message, e.g. 'SQLite'. */
  constructor(private readonly backend: string) {}

  get isOpen(): boolean {
    return this.current !== null;
  }

  /** The open handle, or null (for close()). */
  peek(): H | null {
    return this.current;
  }

  set(handle: H | null): void {
    this.current = handle;
  }

  async run<T>(operation: string, roomId: string | null, fn: (handle: H) => T | Promise<T>): Promise<T> {
    try {
      if (this.current === null) {
        throw new StoreError(operation, roomId, 'closed', `the ${this.backend} store is not open (call init first)`);
      }
      return await fn(this.current);
    } catch (error) {
      throw StoreError.wrap(operation, roomId, error);
    }
  }
}

/** Validates a snapshot's seq before any backend writes it. */
export function checkThroughSeq(roomId: string, throughSeq: number): void {
  if (!Number.isSafeInteger(throughSeq) || throughSeq < 0) {
    throw new StoreError('writeSnapshot', roomId, 'invalid', `throughSeq must be a non-negative integer, got ${throughSeq}`);
  }
}
