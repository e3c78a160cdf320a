/**
 * The public shapes of the inference surface (re-exported by engine.ts and index.ts): options,
 * requests, model info and the `Inference` interface both engines implement.
 */
import type { MetricsSink } from './metrics';
import type { TextDtype } from './hf-folder';
import type { ModelTask } from './manifest';
import type { Registry } from 'prom-client';
import type { GenerationStream } from './stream';
import type { ChatMessage } from './chat-template';

export type Device = 'auto' | 'cpu' | 'webgpu' | 'cuda';

/** The subset of a pino logger the engine uses. */
export interface EngineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface EngineOptions {
  modelsDir: string;
  /** A Hugging Face model folder (ENSEMBLE_TEXT_MODEL): the text model, read from its own files; replaces the manifest's text models. */
  textModel?: string;
  /** Which ONNX variant of `textModel` to load (ENSEMBLE_TEXT_DTYPE; default fp32). */
  textDtype?: TextDtype;
  /** A sentence-embedding folder (ENSEMBLE_EMBED_MODEL: sentence-transformers exported by optimum / onnx-community); the default embedding model. */
  embedModel?: string;
  device?: Device;
  maxBatch?: number;
  maxQueue?: number;
  logger?: EngineLogger;
  metrics?: Registry;
  /** ONNX Runtime intra-op threads per session (default: ORT's choice, the physical cores). */
  threads?: number;
  /** Let ORT's intra-op threads spin while waiting for work (default false). */
  spinning?: boolean;
  /** @internal Where metric updates go instead of `metrics` (the worker forwards them). */
  metricsSink?: MetricsSink;
  /** Most running generations one room may hold (default maxBatch - 1: a slot stays free for other rooms). */
  maxPerRoom?: number;
  /** On WebGPU, keep the KV cache on the device between decode steps (default true; false: benchmarks only). */
  deviceKV?: boolean;
  /** See SchedulerOptions.stepDelayMs (fault injection for tests). */
  stepDelayMs?: number;
  /** See SchedulerOptions.kvStrategy (benchmarks only). */
  kvStrategy?: 'repack-on-change' | 'per-step';
}

export interface GenerateRequest {
  /** The text to continue (a base model); ignored when `messages` is given. */
  prompt: string;
  /**
   * A conversation for an instruct model (ModelInfo.instruct): rendered through the model's chat
   * template with the assistant's turn opened, and the reply is generated. A model without a
   * chat template refuses it ('no_chat_template').
   */
  messages?: ChatMessage[];
  /** Text-generation model id; default: the first one in the manifest. */
  model?: string;
  /** Fairness key: requests are admitted round-robin across rooms. */
  roomId: string;
  /** Default 64; clamped to contextLength - 1. */
  maxTokens?: number;
  /** Default 0.8; 0 = greedy. */
  temperature?: number;
  /** Default 40; 0 = off. */
  topK?: number;
  /** Default 0.95; 1 = off. */
  topP?: number;
  /** Default 1.1; 1 = off. */
  repetitionPenalty?: number;
  /** Same seed + same prompt + same settings → same text. Default: random. */
  seed?: number;
  /** Generation ends before the first occurrence of any of these (not included in the text). */
  stop?: string[];
  /** Do not end on the model's end-of-sequence token (benchmarks, fixed-length output). Default false. */
  ignoreEos?: boolean;
  /** Do not end on end-of-sequence before this many tokens (so a proposal is never empty). Default 0. */
  minTokens?: number;
  signal?: AbortSignal;
  /**
   * Time budget in milliseconds from the call (values above 1e12 are read as an absolute
   * Date.now() timestamp). Turned into one absolute Date.now() time when the request is
   * validated (request.ts), and carried as that to the scheduler. Past it, a running request ends with finishReason 'deadline'; a request
   * still queued fails with InferenceError 'deadline'.
   */
  deadlineMs?: number;
}

export interface ImageRequest {
  prompt: string;
  seed: number;
  model?: string;
  /** Output width/height in pixels (nearest-neighbour upscale of the model's image). Default 128. */
  size?: number;
}

export interface ModelInfo {
  id: string;
  task: ModelTask;
  description?: string;
  /** text-generation */
  contextLength?: number;
  vocabSize?: number;
  /** True when the model has a chat template (an instruct model): send `messages`, not a raw prompt. */
  instruct?: boolean;
  /** embedding */
  dims?: number;
  maxTokens?: number;
  /** image-generation */
  imageSize?: number;
  conditioningModel?: string;
}

/** What callers use; implemented in-process (InferenceEngine) and on a worker thread (WorkerInferenceEngine). */
export interface Inference {
  /** The execution provider in use ('remote': the models run on another server, remote-inference/). */
  readonly device: 'cpu' | 'webgpu' | 'cuda' | 'remote';
  generate(req: GenerateRequest): GenerationStream;
  embed(texts: string[], opts?: { model?: string }): Promise<Float32Array[]>;
  generateImage(req: ImageRequest): Promise<Uint8Array>;
  models(): ModelInfo[];
  /** What /healthz shows about the engine beyond the models (remote engines: each URL up or down). */
  status?(): Record<string, unknown>;
  close(): Promise<void>;
}

/** @internal The logger both engines use when none is given. */
export const consoleLogger: EngineLogger = {
  info: () => {},
  warn: (obj, msg) => console.warn(`[inference] ${msg ?? ''}`, obj),
};
