import type { ErrorCode } from '@ensemble/shared';

/** An error answered to the client as `{ ok: false, error: { code, message } }`. */
export class AgentError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

export function toErrorBody(err: unknown): { code: ErrorCode; message: string } {
  if (err instanceof AgentError) return { code: err.code, message: err.message };
  return { code: 'internal', message: 'internal error' };
}

/** The code of an inference engine error (InferenceError, also across the worker thread), read structurally. */
export function inferenceErrorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}
