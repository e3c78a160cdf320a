/**
 * The slice of the inference engine (server/src/inference) the agent uses. Declared structurally
 * so the agent runs on either the in-process InferenceEngine or the worker-thread one.
 */
export interface GenerateRequest {
  prompt: string;
  model?: string;
  roomId: string;
  maxTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  seed?: number;
  stop?: string[];
  /** No end-of-sequence before this many tokens. */
  minTokens?: number;
  signal?: AbortSignal;
  deadlineMs?: number;
}

export interface GenerationChunk {
  /** The new text of this step (a delta). */
  text: string;
  tokenId: number;
}

export interface GenerationResult {
  text: string;
  finishReason: 'stop' | 'length' | 'aborted' | 'deadline';
  tokens: number;
}

export interface GenerationStreamLike extends AsyncIterable<GenerationChunk> {
  readonly result: Promise<GenerationResult>;
  abort(): void;
}

export interface ModelInfoLike {
  id: string;
  task: string;
  /** Text models: context window in tokens. */
  contextLength?: number;
}

export interface EngineLike {
  generate(req: GenerateRequest): GenerationStreamLike;
  embed(texts: string[]): Promise<Float32Array[]>;
  generateImage(req: { prompt: string; seed: number }): Promise<Uint8Array>;
  models(): ModelInfoLike[] | readonly ModelInfoLike[];
}

/** Error codes of the engine's InferenceError, read structurally. */
export function inferenceErrorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}
