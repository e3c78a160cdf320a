/**
 * What a failed request at one remote engine means: whether the next engine may take it (a
 * connection error, a stall, 5xx, 429, a malformed answer) or it is the request's own fault (4xx),
 * and the InferenceError a caller sees once every engine has been tried.
 */
import OpenAI from 'openai';
import { InferenceError } from '../inference';
import type { Endpoint, EndpointPool } from './endpoint-pool';

export interface AttemptFailure {
  reason: 'unreachable' | 'stalled' | 'status' | 'malformed' | 'gone';
  detail: string;
  retryable: boolean;
  busy: boolean;
  code?: 'unknown_model' | 'no_chat_template' | 'empty_prompt';
}

/** An answer that is not the OpenAI wire format (thrown where a zod check fails). */
export class MalformedResponse extends Error {}

export function classify(err: unknown, stalled = false): AttemptFailure {
  if (stalled) return { reason: 'stalled', detail: 'sent nothing within the stall timeout', retryable: true, busy: false };
  if (err instanceof MalformedResponse) return { reason: 'malformed', detail: err.message, retryable: true, busy: false };
  if (err instanceof OpenAI.APIConnectionError) return { reason: 'unreachable', detail: err.message, retryable: true, busy: false };
  if (err instanceof OpenAI.APIError) {
    const status = err.status;
    const detail = `${status ?? 'error'}: ${err.message}`;
    if (status === 429) return { reason: 'status', detail, retryable: true, busy: true };
    if (status === undefined || status >= 500) return { reason: 'status', detail, retryable: true, busy: false };
    const code = status === 404 ? 'unknown_model' : /chat template/i.test(err.message) ? 'no_chat_template' : /empty/i.test(err.message) ? 'empty_prompt' : undefined;
    return { reason: 'status', detail, retryable: false, busy: false, code };
  }
  // undici's "terminated" / "other side closed": the engine went away while the body streamed.
  return { reason: 'gone', detail: err instanceof Error ? err.message : String(err), retryable: true, busy: false };
}

/** The error once every engine was tried: busy when all said so, bad_response when all answered garbage, else unavailable. */
export function outOfEngines(failures: AttemptFailure[], tried: string[]): InferenceError {
  if (failures.length > 0 && failures.every((f) => f.busy)) return new InferenceError('busy', 'every inference engine is busy');
  const why = failures.map((f, i) => `${tried[i]}: ${f.detail}`).join('; ');
  if (failures.length > 0 && failures.every((f) => f.reason === 'malformed')) return new InferenceError('bad_response', `the inference engine answered outside the OpenAI format (${why})`);
  return new InferenceError('unavailable', `no inference engine answered (${why || 'none is configured'})`);
}

/** A non-streamed request (embeddings, images) tried on each engine in the pool's order until one answers. */
export async function callWithFailover<T>(pool: EndpointPool, model: string, call: (e: Endpoint) => Promise<T>): Promise<T> {
  const failures: AttemptFailure[] = [];
  const tried: string[] = [];
  for (const e of pool.order(model)) {
    tried.push(e.url);
    const release = pool.hold(e);
    try {
      return await call(e);
    } catch (err) {
      const failure = classify(err);
      pool.failed(e, failure.reason, failure.detail);
      if (!failure.retryable) throw new InferenceError(failure.code ?? 'internal', `the inference engine at ${e.url} refused the request (${failure.detail})`);
      failures.push(failure);
    } finally {
      release();
    }
  }
  throw outOfEngines(failures, tried);
}
