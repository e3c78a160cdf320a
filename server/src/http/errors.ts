import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { ZodError, ZodType, infer as Infer } from 'zod';
import type { ApiError } from '@ensemble/shared';
import { AuthError, RoomError, type RoomErrorKind } from '../errors';
import { StoreError } from '../storage/store-error';

/** The one JSON error body every route answers with: `{ error: { code, message, issues? } }`. */
export function sendError(res: Response, status: number, code: string, message: string, issues?: ApiError['error']['issues']): void {
  const body: ApiError = { error: issues ? { code, message, issues } : { code, message } };
  res.status(status).json(body);
}

export function zodIssues(error: ZodError): NonNullable<ApiError['error']['issues']> {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

/** Validates a JSON body; on failure answers 400 `invalid_body` with every issue and returns null. */
export function parseBody<S extends ZodType>(schema: S, body: unknown, res: Response): Infer<S> | null {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issues = zodIssues(parsed.error);
  const first = issues[0];
  sendError(res, 400, 'invalid_body', first ? `${first.path || 'body'}: ${first.message}` : 'invalid body', issues);
  return null;
}

const ROOM_STATUS: Record<RoomErrorKind, number> = { not_found: 404, forbidden: 403, conflict: 409 };

/**
 * Maps what a route throws to its answer, by type: domain errors to their status, body-parser
 * failures to 400/413, store failures to 409 (conflict) or 503 (try again), the rest to 500.
 */
export function errorSender(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof RoomError) return sendError(res, ROOM_STATUS[err.kind], err.code, err.message);
    if (err instanceof AuthError) return sendError(res, 401, err.code, err.message);
    if (err instanceof StoreError) {
      if (err.code === 'conflict') return sendError(res, 409, 'conflict', err.message);
      logger.error({ err }, 'store error in request');
      return sendError(res, 503, 'storage_unavailable', 'storage is unavailable; try again');
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed') return sendError(res, 400, 'invalid_json', 'request body is not valid JSON');
    if (e.type === 'entity.too.large') return sendError(res, 413, 'payload_too_large', 'request body is too large');
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return sendError(res, e.status, 'bad_request', e.message ?? 'bad request');
    logger.error({ err }, 'unhandled error in request');
    sendError(res, 500, 'internal', 'internal server error');
  };
}
