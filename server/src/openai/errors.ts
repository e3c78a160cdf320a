/** OpenAI's error shape `{ error: { message, type, param, code } }` and the statuses it comes with. */
import type { Response } from 'express';
import type { ZodError } from 'zod';

export type OpenAiErrorType = 'invalid_request_error' | 'authentication_error' | 'rate_limit_error' | 'server_error' | 'not_found_error';

export class OpenAiError extends Error {
  constructor(
    readonly status: number,
    readonly type: OpenAiErrorType,
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    /** Seconds, for 429. */
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }
}

export function sendOpenAiError(res: Response, err: OpenAiError): void {
  if (err.retryAfterSec !== undefined) res.setHeader('Retry-After', String(Math.max(1, err.retryAfterSec)));
  res.status(err.status).json({ error: { message: err.message, type: err.type, param: err.param, code: err.code } });
}

export function badBody(error: ZodError): OpenAiError {
  const first = error.issues[0];
  const param = first && first.path.length > 0 ? first.path.map(String).join('.') : null;
  return new OpenAiError(400, 'invalid_request_error', first ? `${param ?? 'body'}: ${first.message}` : 'invalid body', 'invalid_value', param);
}
