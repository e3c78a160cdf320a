/**
 * /v1/completions and /v1/chat/completions on one path: n generations started together (seed + i
 * when a seed is given), answered as one JSON body or as server-sent events. A client that goes
 * away aborts every generation of its request (the engine frees the slot at the next step).
 */
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { GenerateRequest, GenerationResult, GenerationStream, Inference } from '../inference';
import { InferenceError } from '../inference';
import { OpenAiError } from './errors';

export interface GenerationJob {
  kind: 'completion' | 'chat';
  model: string;
  /** The engine request shared by the n choices (seed set per choice here). */
  request: Omit<GenerateRequest, 'seed' | 'signal'>;
  seed?: number | null;
  n: number;
  stream: boolean;
  includeUsage: boolean;
  /** Per choice, where the engine's result does not say (GenerationResult.promptTokens). */
  promptTokens: number;
  /** Streaming: after a choice's first text, deltas are sent at most this often (0: every token). */
  streamIntervalMs?: number;
}

/**
 * A choice's streamed text: the first delta goes out at once (time to first token), later ones
 * are merged and sent at most every `intervalMs`, so a client reads a few events per stream and
 * frame instead of one per token — the per-event cost (JSON, a write, SSE parsing on the other
 * side) is what a remote sync process pays per token otherwise.
 */
class DeltaCoalescer {
  private pending = '';
  private timer: NodeJS.Timeout | null = null;
  private sentAny = false;

  constructor(
    private readonly intervalMs: number,
    private readonly emit: (text: string) => void,
  ) {}

  push(text: string): void {
    if (this.intervalMs <= 0 || !this.sentAny) {
      this.sentAny = true;
      this.emit(text);
      return;
    }
    this.pending += text;
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.emit(text);
  }
}

type Finish = 'stop' | 'length';
const finishOf = (r: GenerationResult): Finish => (r.finishReason === 'stop' ? 'stop' : 'length');

/** Maps what the engine throws to the OpenAI status it stands for. */
export function engineError(err: unknown, retryAfterSec: number): OpenAiError {
  if (err instanceof OpenAiError) return err;
  if (err instanceof InferenceError) {
    switch (err.code) {
      case 'busy':
        return new OpenAiError(429, 'rate_limit_error', 'the engine queue is full; retry later', 'engine_busy', null, retryAfterSec);
      case 'unknown_model':
        return new OpenAiError(404, 'invalid_request_error', err.message, 'model_not_found', 'model');
      case 'empty_prompt':
        return new OpenAiError(400, 'invalid_request_error', err.message, 'empty_prompt', 'prompt');
      case 'no_chat_template':
        return new OpenAiError(400, 'invalid_request_error', err.message, 'no_chat_template', 'messages');
      case 'deadline':
        return new OpenAiError(503, 'server_error', err.message, 'deadline');
      case 'unavailable':
        return new OpenAiError(503, 'server_error', err.message, 'engine_unavailable');
      case 'bad_response':
        return new OpenAiError(502, 'server_error', err.message, 'bad_engine_response');
      default:
        break;
    }
  }
  return new OpenAiError(500, 'server_error', err instanceof Error ? err.message : String(err), 'internal');
}

export async function runGeneration(engine: Inference, job: GenerationJob, req: Request, res: Response, retryAfterSec: number): Promise<void> {
  const abort = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) abort.abort();
  };
  res.on('close', onClose);
  req.on('aborted', onClose);
  const streams: GenerationStream[] = [];
  try {
    for (let i = 0; i < job.n; i++) {
      const seed = job.seed != null ? job.seed + i : undefined;
      streams.push(engine.generate({ ...job.request, seed, signal: abort.signal }));
    }
  } catch (err) {
    // 'busy' for choice i: the choices already started must not hold their slots.
    abort.abort();
    throw engineError(err, retryAfterSec);
  }
  const id = `${job.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replace(/-/g, '')}`;
  const created = Math.floor(Date.now() / 1000);
  const head = { id, object: job.kind === 'chat' ? 'chat.completion' : 'text_completion', created, model: job.model };
  const usage = (results: GenerationResult[]) => {
    const completion = results.reduce((s, r) => s + r.tokens, 0);
    const prompt = results.reduce((sum, r) => sum + (r.promptTokens ?? job.promptTokens), 0);
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  };
  if (!job.stream) {
    let results: GenerationResult[];
    try {
      results = await Promise.all(streams.map((s) => s.result));
    } catch (err) {
      abort.abort();
      throw engineError(err, retryAfterSec);
    } finally {
      res.off('close', onClose);
    }
    if (abort.signal.aborted) return;
    const choices = results.map((r, index) =>
      job.kind === 'chat'
        ? { index, message: { role: 'assistant', content: r.text, refusal: null }, logprobs: null, finish_reason: finishOf(r) }
        : { index, text: r.text, logprobs: null, finish_reason: finishOf(r) },
    );
    res.json({ ...head, choices, usage: usage(results) });
    return;
  }
  await streamChoices(streams, job, head, res, abort, usage);
  res.off('close', onClose);
}

async function streamChoices(
  streams: GenerationStream[],
  job: GenerationJob,
  head: { id: string; object: string; created: number; model: string },
  res: Response,
  abort: AbortController,
  usage: (r: GenerationResult[]) => unknown,
): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Connection', 'keep-alive');
  res.flushHeaders();
  const object = job.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  const send = (choices: unknown[], extra: Record<string, unknown> = {}): void => {
    if (abort.signal.aborted) return;
    const body: Record<string, unknown> = { ...head, object, choices, ...extra };
    if (job.includeUsage && !('usage' in body)) body.usage = null;
    res.write(`data: ${JSON.stringify(body)}\n\n`);
  };
  const choice = (index: number, text: string, finish: Finish | null, first = false) =>
    job.kind === 'chat'
      ? { index, delta: first ? { role: 'assistant', content: text } : finish ? {} : { content: text }, logprobs: null, finish_reason: finish }
      : { index, text, logprobs: null, finish_reason: finish };
  const results = await Promise.all(
    streams.map(async (stream, index) => {
      if (job.kind === 'chat') send([choice(index, '', null, true)]);
      const deltas = new DeltaCoalescer(job.streamIntervalMs ?? 0, (text) => send([choice(index, text, null)]));
      try {
        for await (const chunk of stream) deltas.push(chunk.text);
        deltas.flush();
        const result = await stream.result;
        send([choice(index, '', finishOf(result))]);
        return result;
      } catch (err) {
        deltas.flush();
        if (!abort.signal.aborted) {
          const e = engineError(err, 1);
          res.write(`data: ${JSON.stringify({ error: { message: e.message, type: e.type, param: e.param, code: e.code } })}\n\n`);
        }
        abort.abort();
        return null;
      }
    }),
  );
  if (abort.signal.aborted) {
    res.end();
    return;
  }
  if (job.includeUsage) send([], { usage: usage(results as GenerationResult[]) });
  res.end('data: [DONE]\n\n');
}
