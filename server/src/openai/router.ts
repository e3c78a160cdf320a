/**
 * The OpenAI-compatible API (`/v1`) over the server's own inference engine: models, completions,
 * chat completions, embeddings, images. Bearer keys from ENSEMBLE_API_KEYS; a token bucket per key.
 */
import { timingSafeEqual } from 'node:crypto';
import express, { Router, type ErrorRequestHandler, type NextFunction, type Request, type Response } from 'express';
import type { ZodType, infer as Infer } from 'zod';
import type { Config } from '../config';
import type { Inference, ModelInfo } from '../inference';
import { KeyedBudget } from '../limits/keyed-budget';
import { OpenAiError, badBody, sendOpenAiError } from './errors';
import { engineError, runGeneration } from './generation';
import { ChatBody, CompletionBody, EmbeddingBody, ImageBody, contentText } from './schemas';

/** Requests per minute per key, and the burst a key may spend at once. */
export interface KeyRate {
  perMin: number;
  burst: number;
}

export interface OpenAiRouterOptions {
  /** The engine the rest of the server uses; null while none is loaded (AI disabled): 503. */
  engine: () => Inference | null;
  keys: readonly string[];
  /** null: no per-key limit. */
  rate: KeyRate | null;
  /** Seconds a client is told to wait when the engine's queue is full. */
  busyRetryAfterSec?: number;
  /** See GenerationJob.streamIntervalMs (ENSEMBLE_API_STREAM_INTERVAL_MS). */
  streamIntervalMs?: number;
}

/** Prompt tokens, where the engine can count them (the in-process engine has the tokenizer). */
function promptTokenCounter(engine: Inference): ((model: string, text: string) => number) | null {
  const withTokenizer = engine as Inference & { tokenizer?: (model?: string) => { encode(t: string, special?: boolean): number[] } };
  return typeof withTokenizer.tokenizer === 'function' ? (model, text) => withTokenizer.tokenizer!(model).encode(text).length : null;
}

/** What a role's /v1 does where the configuration is silent (see ENSEMBLE_API_RATE_PER_MIN, ENSEMBLE_API_STREAM_INTERVAL_MS). */
export interface RouterDefaults {
  streamIntervalMs: number;
  rate: KeyRate | null;
}

/** The /v1 router as the configuration sets it up, over the role's defaults. */
export function openAiRouterFromConfig(config: Config, engine: () => Inference | null, defaults: RouterDefaults): Router {
  const perMin = config.ENSEMBLE_API_RATE_PER_MIN ?? defaults.rate?.perMin;
  return createOpenAiRouter({
    engine,
    keys: config.ENSEMBLE_API_KEYS,
    rate: perMin === undefined ? null : { perMin, burst: config.ENSEMBLE_API_BURST ?? defaults.rate?.burst ?? Math.max(1, Math.round(perMin / 10)) },
    streamIntervalMs: config.ENSEMBLE_API_STREAM_INTERVAL_MS ?? defaults.streamIntervalMs,
  });
}

export function createOpenAiRouter(options: OpenAiRouterOptions): Router {
  const router = Router();
  const keys = options.keys.map((k) => Buffer.from(k));
  const rate = options.rate;
  const budget = rate ? new KeyedBudget(rate.perMin / 60, rate.burst) : null;
  const busyRetry = options.busyRetryAfterSec ?? 1;

  router.use((req: Request, res: Response, next: NextFunction) => {
    const match = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '');
    const given = match ? Buffer.from(match[1]!.trim()) : null;
    const key = given ? keys.find((k) => k.length === given.length && timingSafeEqual(k, given)) : undefined;
    if (!key) {
      const msg = given ? 'Incorrect API key provided.' : 'Missing bearer API key: send "Authorization: Bearer <key>".';
      return sendOpenAiError(res, new OpenAiError(401, 'authentication_error', msg, 'invalid_api_key'));
    }
    const name = key.toString();
    // Fairness between keys: the engine admits round-robin across these "rooms".
    res.locals.room = `openai:${keys.indexOf(key)}`;
    if (budget && !budget.take(name)) {
      const sec = Math.ceil(budget.msUntil(name) / 1000);
      return sendOpenAiError(res, new OpenAiError(429, 'rate_limit_error', `rate limit of ${rate!.perMin} requests per minute for this key reached`, 'rate_limit_exceeded', null, sec));
    }
    next();
  });
  router.use(express.json({ limit: '4mb' }));

  const engineOr503 = (): Inference => {
    const engine = options.engine();
    if (!engine) throw new OpenAiError(503, 'server_error', 'no inference engine is loaded (ENSEMBLE_DISABLE_AI)', 'engine_unavailable');
    return engine;
  };
  const modelFor = (engine: Inference, id: string, task: ModelInfo['task']): ModelInfo => {
    const info = engine.models().find((m) => m.id === id);
    if (!info) throw new OpenAiError(404, 'invalid_request_error', `The model '${id}' does not exist`, 'model_not_found', 'model');
    if (info.task !== task) throw new OpenAiError(400, 'invalid_request_error', `model '${id}' is a ${info.task} model, not ${task}`, 'wrong_model_task', 'model');
    return info;
  };
  const parse = <S extends ZodType>(schema: S, body: unknown): Infer<S> => {
    const parsed = schema.safeParse(body ?? {});
    if (!parsed.success) throw badBody(parsed.error);
    return parsed.data;
  };
  const handle = (fn: (req: Request, res: Response) => Promise<void> | void) => (req: Request, res: Response, next: NextFunction) => {
    Promise.resolve()
      .then(() => fn(req, res))
      .catch(next);
  };

  router.get('/models', handle((_req, res) => {
    const engine = engineOr503();
    // Beyond OpenAI's fields: the task and chat flag a sync process reads, the context length under vLLM's name.
    const data = engine.models().map((m) => ({
      id: m.id,
      object: 'model',
      created: 0,
      owned_by: 'ensemble',
      task: m.task,
      ...(m.instruct ? { instruct: true } : {}),
      ...(m.contextLength ? { max_model_len: m.contextLength } : {}),
    }));
    res.json({ object: 'list', data });
  }));

  router.get('/models/:id', handle((req, res) => {
    const info = engineOr503().models().find((m) => m.id === req.params.id);
    if (!info) throw new OpenAiError(404, 'invalid_request_error', `The model '${req.params.id}' does not exist`, 'model_not_found', 'model');
    res.json({ id: info.id, object: 'model', created: 0, owned_by: 'ensemble' });
  }));

  const sampling = (b: CompletionBody | ChatBody) => ({
    // OpenAI's defaults: temperature 1, top_p 1, no top-k, no repetition penalty (vLLM's -1 = off too).
    temperature: b.temperature ?? 1,
    topP: b.top_p ?? 1,
    topK: Math.max(0, b.top_k ?? 0),
    repetitionPenalty: b.repetition_penalty ?? 1,
    ...(b.min_tokens ? { minTokens: b.min_tokens } : {}),
    ...(b.ignore_eos ? { ignoreEos: true } : {}),
    stop: b.stop == null ? undefined : typeof b.stop === 'string' ? [b.stop] : b.stop,
    n: b.n ?? 1,
    seed: b.seed,
    stream: b.stream === true,
    includeUsage: b.stream === true && b.stream_options?.include_usage === true,
  });

  router.post('/completions', handle(async (req, res) => {
    const body = parse(CompletionBody, req.body);
    const engine = engineOr503();
    const info = modelFor(engine, body.model, 'text-generation');
    const { n, seed, stream, includeUsage, ...s } = sampling(body);
    const count = promptTokenCounter(engine);
    const request = { prompt: body.prompt, model: info.id, roomId: res.locals.room as string, maxTokens: body.max_tokens ?? 16, ...s };
    await runGeneration(engine, { kind: 'completion', model: info.id, request, seed, n, stream, includeUsage, promptTokens: count ? count(info.id, body.prompt) : 0, streamIntervalMs: options.streamIntervalMs }, req, res, busyRetry);
  }));

  router.post('/chat/completions', handle(async (req, res) => {
    const body = parse(ChatBody, req.body);
    const engine = engineOr503();
    const info = modelFor(engine, body.model, 'text-generation');
    if (!info.instruct) throw new OpenAiError(400, 'invalid_request_error', `model '${info.id}' has no chat template (a base model): use /v1/completions`, 'no_chat_template', 'messages');
    const { n, seed, stream, includeUsage, ...s } = sampling(body);
    // 'developer' is OpenAI's newer name for the system role; chat templates know 'system'.
    const messages = body.messages.map((m) => ({ role: m.role === 'developer' ? ('system' as const) : m.role, content: contentText(m.content) }));
    const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? info.contextLength ?? 256;
    // The engine reports the rendered template's count with each result (GenerationResult.promptTokens).
    const request = { prompt: '', messages, model: info.id, roomId: res.locals.room as string, maxTokens, ...s };
    await runGeneration(engine, { kind: 'chat', model: info.id, request, seed, n, stream, includeUsage, promptTokens: 0, streamIntervalMs: options.streamIntervalMs }, req, res, busyRetry);
  }));

  router.post('/embeddings', handle(async (req, res) => {
    const body = parse(EmbeddingBody, req.body);
    const engine = engineOr503();
    const info = modelFor(engine, body.model, 'embedding');
    const input = typeof body.input === 'string' ? [body.input] : body.input;
    let vectors: Float32Array[];
    try {
      vectors = await engine.embed(input, { model: info.id });
    } catch (err) {
      throw engineError(err, busyRetry);
    }
    const count = promptTokenCounter(engine);
    const tokens = count ? input.reduce((sum, t) => sum + count(info.id, t), 0) : 0;
    const data = vectors.map((v, index) => ({
      object: 'embedding',
      index,
      embedding: body.encoding_format === 'base64' ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v),
    }));
    res.json({ object: 'list', data, model: info.id, usage: { prompt_tokens: tokens, total_tokens: tokens } });
  }));

  router.post('/images/generations', handle(async (req, res) => {
    const body = parse(ImageBody, req.body);
    const engine = engineOr503();
    const id = body.model ?? engine.models().find((m) => m.task === 'image-generation')?.id;
    if (!id) throw new OpenAiError(404, 'invalid_request_error', 'no image-generation model is loaded', 'model_not_found', 'model');
    const info = modelFor(engine, id, 'image-generation');
    let size: number | undefined;
    if (body.size) {
      const [w, h] = body.size.split('x').map(Number);
      if (w !== h || !w || w > 1024) throw new OpenAiError(400, 'invalid_request_error', 'size must be square, at most 1024x1024', 'invalid_value', 'size');
      size = w;
    }
    const images: string[] = [];
    try {
      for (let i = 0; i < (body.n ?? 1); i++) {
        const seed = body.seed != null ? body.seed + i : Math.floor(Math.random() * 2 ** 31);
        const png = await engine.generateImage({ prompt: body.prompt, model: info.id, seed, size });
        images.push(Buffer.from(png).toString('base64'));
      }
    } catch (err) {
      throw engineError(err, busyRetry);
    }
    res.json({ created: Math.floor(Date.now() / 1000), data: images.map((b64_json) => ({ b64_json })) });
  }));

  router.use((req: Request, res: Response) => sendOpenAiError(res, new OpenAiError(404, 'invalid_request_error', `Unknown request URL: ${req.method} /v1${req.path}`, 'unknown_url')));
  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    if (res.headersSent) return void res.end();
    const e = err as { type?: string; status?: number };
    // express.json's own errors: malformed JSON, a body over the limit.
    if (!(err instanceof OpenAiError) && e.type === 'entity.parse.failed') return sendOpenAiError(res, new OpenAiError(400, 'invalid_request_error', 'the body is not valid JSON', 'invalid_json'));
    if (!(err instanceof OpenAiError) && e.type === 'entity.too.large') return sendOpenAiError(res, new OpenAiError(413, 'invalid_request_error', 'the body is too large', 'body_too_large'));
    sendOpenAiError(res, engineError(err, busyRetry));
  };
  router.use(onError);
  return router;
}
