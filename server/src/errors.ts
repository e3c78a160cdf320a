/**
 * The typed errors the domain throws across module boundaries. They live below every module, so
 * a caller (the HTTP error sender, the sync server) can tell them apart with `instanceof` without
 * importing the module that throws them. `StoreError` is storage's own (storage/store-error.ts).
 */

export type AuthErrorCode = 'invalid_token' | 'expired_token';

/** A room token that is missing, forged or expired (TokenService.verify). */
export class AuthError extends Error {
  override readonly name = 'AuthError';

  constructor(
    readonly code: AuthErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What went wrong with a room request, independent of the transport that answers it. */
export type RoomErrorKind = 'not_found' | 'forbidden' | 'conflict';

/** A room operation refused: `code` is the wire error code (e.g. 'join_code_not_found'). */
export class RoomError extends Error {
  override readonly name = 'RoomError';

  constructor(
    readonly kind: RoomErrorKind,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
