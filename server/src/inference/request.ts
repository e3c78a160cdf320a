/**
 * The edge of a generation, shared by InferenceEngine and WorkerInferenceEngine: model choice,
 * request validation, defaults and the deadline, each decided ONCE on the calling thread. The
 * result, a `GenerationSpec`, is plain data: it crosses the worker port as is and is what
 * `InferenceEngine.startGeneration()` runs (no second validation, no second deadline conversion).
 */
import type { GenerateRequest, ModelInfo } from './api';
import type { ChatMessage } from './chat-template';
import { InferenceError } from './errors';
import { DEFAULT_SAMPLING, randomSeed, type SamplingParams } from './sampling';
import type { GenerationStream } from './stream';

/** A validated generation request with every default filled in. */
export interface GenerationSpec {
  prompt: string;
  /** For an instruct model: rendered through its chat template instead of `prompt`. */
  messages?: ChatMessage[];
  /** A loaded text-generation model id (chosen by `chooseModel`). */
  model: string;
  roomId: string;
  maxTokens: number;
  sampling: SamplingParams;
  seed: number;
  stop: string[];
  ignoreEos: boolean;
  minTokens: number;
  /** Absolute Date.now() ms after which the request is cut off. */
  deadlineAt?: number;
}

/** The model `id` names among `loaded` (or the first one); throws 'unknown_model'. */
export function chooseModel(loaded: Iterable<string>, id: string | undefined, task: ModelInfo['task']): string {
  const ids = [...loaded];
  if (id === undefined) {
    if (ids[0] === undefined) throw new InferenceError('unknown_model', `no ${task} model is loaded`);
    return ids[0];
  }
  if (!ids.includes(id)) throw new InferenceError('unknown_model', `unknown ${task} model "${id}" (loaded: ${ids.join(', ') || 'none'})`);
  return id;
}

/**
 * `deadlineMs` (a budget from now; above 1e12 an absolute Date.now() time) as an absolute
 * Date.now() time, the one representation used from here on.
 */
export function deadlineAt(deadlineMs: number | undefined, now = Date.now()): number | undefined {
  if (deadlineMs === undefined) return undefined;
  return deadlineMs > 1e12 ? deadlineMs : now + deadlineMs;
}

/**
 * Validates a request against the loaded text models and fills in the defaults. Throws
 * InferenceError: 'unknown_model', 'empty_prompt' (empty or whitespace-only), 'aborted' (the
 * signal was already aborted).
 */
export function prepareGenerate(req: GenerateRequest, loaded: Iterable<string>): GenerationSpec {
  const model = chooseModel(loaded, req.model, 'text-generation');
  const messages = req.messages === undefined ? undefined : validMessages(req.messages);
  if (!messages && (typeof req.prompt !== 'string' || req.prompt.trim() === '')) throw new InferenceError('empty_prompt', 'the prompt is empty');
  if (req.signal?.aborted) throw new InferenceError('aborted', 'the request was aborted before it started');
  const at = deadlineAt(req.deadlineMs);
  return {
    prompt: messages ? '' : req.prompt,
    ...(messages ? { messages } : {}),
    model,
    roomId: req.roomId,
    maxTokens: req.maxTokens ?? 64,
    sampling: {
      temperature: req.temperature ?? DEFAULT_SAMPLING.temperature,
      topK: req.topK ?? DEFAULT_SAMPLING.topK,
      topP: req.topP ?? DEFAULT_SAMPLING.topP,
      repetitionPenalty: req.repetitionPenalty ?? DEFAULT_SAMPLING.repetitionPenalty,
    },
    seed: req.seed ?? randomSeed(),
    stop: req.stop ?? [],
    ignoreEos: req.ignoreEos ?? false,
    minTokens: req.minTokens ?? 0,
    ...(at !== undefined ? { deadlineAt: at } : {}),
  };
}

const ROLES = new Set(['system', 'user', 'assistant']);

/** A copy of `messages` as plain data; 'empty_prompt' when there is no non-blank content, 'internal' for a malformed message. */
function validMessages(messages: unknown): ChatMessage[] {
  if (!Array.isArray(messages)) throw new InferenceError('internal', 'messages must be an array of { role, content }');
  const out = messages.map((m: unknown, i): ChatMessage => {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !ROLES.has(role) || typeof content !== 'string') {
      throw new InferenceError('internal', `messages[${i}] must be { role: 'system' | 'user' | 'assistant', content: string }`);
    }
    return { role: role as ChatMessage['role'], content };
  });
  if (!out.some((m) => m.content.trim() !== '')) throw new InferenceError('empty_prompt', 'the messages are empty');
  return out;
}

/** Aborts `stream` when `signal` fires, until the stream's result settles. */
export function bindSignal(signal: AbortSignal | undefined, stream: GenerationStream): void {
  if (!signal) return;
  const onAbort = (): void => stream.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  const off = (): void => signal.removeEventListener('abort', onAbort);
  stream.result.then(off, off);
}

/** Where a running generation's text, end or failure goes: the caller's GenerationStream, or (in the worker) the port. */
export type GenerationSink = Pick<GenerationStream, 'push' | 'finish' | 'fail'>;
