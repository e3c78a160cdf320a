import type { GenerateRequest, GenerationChunk, GenerationResult } from '../inference';

export type { GenerateRequest, GenerationChunk, GenerationResult };

/**
 * The slice of the inference engine the agent uses, declared structurally so the agent runs on
 * either the in-process InferenceEngine or the worker-thread one (and the tests can pace one).
 */
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
