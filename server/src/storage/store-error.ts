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
