import type { Response } from 'express';
import type { ApiError } from '@ensemble/shared';
import type { ZodError } from 'zod';

export function sendError(res: Response, status: number, code: string, message: string, issues?: ApiError['error']['issues']): void {
  const body: ApiError = { error: issues ? { code, message, issues } : { code, message } };
  res.status(status).json(body);
}

/** An error a route handler throws to answer with a specific status and code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function zodIssues(error: ZodError): NonNullable<ApiError['error']['issues']> {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

/** Validates a JSON body; on failure answers 400 `invalid_body` with every issue and returns null. */
export function parseBody<S extends import('zod').ZodType>(schema: S, body: unknown, res: Response): import('zod').infer<S> | null {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issues = zodIssues(parsed.error);
  const first = issues[0];
  sendError(res, 400, 'invalid_body', first ? `${first.path || 'body'}: ${first.message}` : 'invalid body', issues);
  return null;
}
