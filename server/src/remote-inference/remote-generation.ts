/**
 * One generation on a remote OpenAI-compatible engine, as a GenerationStream: streamed through
 * the official client, each chunk checked (zod), stalls and the deadline timed here. Until the
 * first text arrives a failed engine is replaced by the next one of the pool; after it, the
 * stream ends failed ('unavailable'), since text already shown cannot be taken back.
 */
import OpenAI from 'openai';
import { GenerationStream, InferenceError, deadlineAt, type FinishReason, type GenerateRequest, type InferenceMetrics } from '../inference';
import type { Endpoint, EndpointPool } from './endpoint-pool';
import { MalformedResponse, classify, outOfEngines, type AttemptFailure } from './failover';
import { ChatChunk, CompletionChunk, describeIssue } from './schemas';

export interface RemoteTextOptions {
  pool: EndpointPool;
  /** Send top_k, repetition_penalty, min_tokens and ignore_eos (vLLM's and Ensemble's extensions). */
  extendedSampling: boolean;
  stallMs: number;
  metrics: InferenceMetrics | null;
  /** Running generations changed by +1 / -1 (the engine's active-sequences gauge). */
  onActive(model: string, delta: number): void;
}

/** OpenAI allows four stop sequences. */
const MAX_STOPS = 4;


export function requestBody(req: GenerateRequest, model: string, chat: boolean, extended: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model,
    max_tokens: req.maxTokens ?? 64,
    temperature: req.temperature ?? 0.8,
    top_p: req.topP ?? 0.95,
    stream: true,
    stream_options: { include_usage: true },
  };
  if (chat) body.messages = req.messages;
  else body.prompt = req.prompt;
  if (req.seed !== undefined) body.seed = req.seed;
  if (req.stop && req.stop.length > 0) body.stop = req.stop.slice(0, MAX_STOPS);
  if (extended) {
    const topK = req.topK ?? 40;
    if (topK > 0) body.top_k = topK;
    if ((req.repetitionPenalty ?? 1.1) !== 1) body.repetition_penalty = req.repetitionPenalty ?? 1.1;
    if (req.minTokens) body.min_tokens = req.minTokens;
    if (req.ignoreEos) body.ignore_eos = true;
  }
  return body;
}

export function remoteGenerate(req: GenerateRequest, model: string, chat: boolean, o: RemoteTextOptions): GenerationStream {
  const outer = new AbortController();
  let cut: 'aborted' | 'deadline' | null = null;
  const stopAll = (why: 'aborted' | 'deadline'): void => {
    cut ??= why;
    outer.abort();
  };
  const stream = new GenerationStream(() => stopAll('aborted'));
  const onSignal = (): void => stopAll('aborted');
  if (req.signal?.aborted) cut = 'aborted';
  req.signal?.addEventListener('abort', onSignal, { once: true });
  const endsAt = deadlineAt(req.deadlineMs);
  const deadline = endsAt === undefined ? null : setTimeout(() => stopAll('deadline'), Math.max(0, endsAt - Date.now()));

  const started = performance.now();
  let text = '';
  let chunks = 0;
  let usage: { prompt?: number; completion?: number } = {};
  let finish: FinishReason | null = null;
  const labels = { task: 'text-generation', model };
  const body = requestBody(req, model, chat, o.extendedSampling);
  o.onActive(model, 1);

  const end = (outcome: string): void => {
    if (deadline) clearTimeout(deadline);
    req.signal?.removeEventListener('abort', onSignal);
    o.onActive(model, -1);
    o.metrics?.requests.inc({ ...labels, outcome });
    o.metrics?.latency.observe(labels, (performance.now() - started) / 1000);
  };
  const finished = (reason: FinishReason): void => {
    end(reason);
    o.metrics?.generatedTokens.inc({ model }, usage.completion ?? chunks);
    stream.finish({ text, finishReason: reason, tokens: usage.completion ?? chunks, ...(usage.prompt !== undefined ? { promptTokens: usage.prompt } : {}) });
  };
  const failed = (err: InferenceError, outcome = 'error'): void => {
    end(outcome);
    stream.fail(err);
  };

  /** Streams from one engine; resolves true when the request is over (finished or failed), false to try the next engine. */
  const attempt = async (e: Endpoint, failures: AttemptFailure[]): Promise<boolean> => {
    const local = new AbortController();
    const onOuter = (): void => local.abort();
    outer.signal.addEventListener('abort', onOuter, { once: true });
    let stalled = false;
    // Pushed back by every chunk (refresh() re-arms the same timer: no allocation per chunk).
    const stall = setTimeout(() => {
      stalled = true;
      local.abort();
    }, o.stallMs);
    const release = o.pool.hold(e);
    try {
      const options = { signal: local.signal };
      const chunksIn = chat
        ? await e.client.chat.completions.create(body as unknown as OpenAI.Chat.ChatCompletionCreateParamsStreaming, options)
        : await e.client.completions.create(body as unknown as OpenAI.CompletionCreateParamsStreaming, options);
      for await (const raw of chunksIn as AsyncIterable<unknown>) {
        stall.refresh();
        const parsed = (chat ? ChatChunk : CompletionChunk).safeParse(raw);
        if (!parsed.success) throw new MalformedResponse(`malformed stream chunk (${describeIssue(parsed.error)})`);
        const c = parsed.data;
        if (c.usage) usage = { prompt: c.usage.prompt_tokens, completion: c.usage.completion_tokens };
        for (const choice of c.choices) {
          const delta = 'delta' in choice ? choice.delta?.content : 'text' in choice ? choice.text : undefined;
          if (delta) {
            if (chunks === 0) o.metrics?.timeToFirstToken.observe({ model }, (performance.now() - started) / 1000);
            chunks++;
            text += delta;
            stream.push({ text: delta, tokenId: -1 });
          }
          if (choice.finish_reason) finish = choice.finish_reason === 'length' ? 'length' : 'stop';
        }
      }
      // The client ends the iteration quietly when its request is aborted: say why it ended.
      if (stalled) throw new Error('stalled');
      if (!cut) {
        finished(finish ?? 'stop');
        return true;
      }
      throw new Error(cut);
    } catch (err) {
      if (cut) {
        if (cut === 'deadline' && text === '') failed(new InferenceError('deadline', 'the deadline passed before the engine sent any text'), 'deadline');
        else finished(cut);
        return true;
      }
      const failure = classify(err, stalled);
      o.pool.failed(e, text === '' ? failure.reason : failure.reason === 'status' ? 'status' : 'gone', failure.detail);
      if (text !== '') {
        failed(new InferenceError('unavailable', `the inference engine at ${e.url} stopped mid-stream (${failure.detail})`));
        return true;
      }
      if (!failure.retryable) {
        failed(new InferenceError(failure.code ?? 'internal', `the inference engine at ${e.url} refused the request (${failure.detail})`));
        return true;
      }
      failures.push(failure);
      return false;
    } finally {
      clearTimeout(stall);
      release();
      outer.signal.removeEventListener('abort', onOuter);
    }
  };

  void (async () => {
    const failures: AttemptFailure[] = [];
    const tried: string[] = [];
    // Engines are tried in the pool's order until one takes the request.
    for (const e of o.pool.order(model)) {
      if (cut) break;
      tried.push(e.url);
      if (await attempt(e, failures)) return;
    }
    if (cut === 'aborted') return finished('aborted');
    if (cut === 'deadline') return failed(new InferenceError('deadline', 'the deadline passed before any engine answered'), 'deadline');
    const err = outOfEngines(failures, tried);
    failed(err, err.code === 'busy' ? 'busy' : 'error');
  })();
  return stream;
}
