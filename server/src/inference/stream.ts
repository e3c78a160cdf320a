/** The caller's side of one generation: an async iterator of text deltas plus a final result. */
import { InferenceError } from './errors';

export interface GenerationChunk {
  /** New text since the previous chunk; always non-empty and valid UTF-16 (never half a character). */
  text: string;
  /** The token whose arrival completed this text (the last token, for a final flush). */
  tokenId: number;
}

export type FinishReason = 'stop' | 'length' | 'aborted' | 'deadline';

export interface GenerationResult {
  /** Everything streamed, concatenated (stop sequence and EOS excluded). */
  text: string;
  finishReason: FinishReason;
  /** Generated tokens (EOS excluded). */
  tokens: number;
  /** Prompt tokens the model read, after truncation (for chat: the rendered template). Set by the engine, not by the scheduler. */
  promptTokens?: number;
}

/**
 * Single-consumer stream. Breaking out of `for await` (iterator `return()`) aborts the
 * generation. `result` resolves when the sequence ends for any of the four reasons and rejects
 * only with an `InferenceError` (`deadline` while still queued, `internal`).
 */
export class GenerationStream implements AsyncIterable<GenerationChunk> {
  readonly result: Promise<GenerationResult>;
  private chunks: GenerationChunk[] = [];
  private waiter: (() => void) | null = null;
  private done = false;
  private error: unknown = null;
  private resolveResult!: (r: GenerationResult) => void;
  private rejectResult!: (e: unknown) => void;
  private iterating = false;

  constructor(private readonly onAbort: () => void) {
    this.result = new Promise<GenerationResult>((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    // A caller that only iterates must not get an unhandled rejection; awaiting `result` still throws.
    this.result.catch(() => {});
  }

  /** Stops the generation; `result` resolves with finishReason 'aborted' and the text so far. */
  abort(): void {
    if (!this.done) this.onAbort();
  }

  /** @internal */
  push(chunk: GenerationChunk): void {
    if (this.done) return;
    this.chunks.push(chunk);
    this.wake();
  }

  /** @internal */
  finish(result: GenerationResult): void {
    if (this.done) return;
    this.done = true;
    this.resolveResult(result);
    this.wake();
  }

  /** @internal */
  fail(err: InferenceError): void {
    if (this.done) return;
    this.done = true;
    this.error = err;
    this.rejectResult(err);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<GenerationChunk> {
    if (this.iterating) throw new InferenceError('internal', 'a GenerationStream can be iterated only once');
    this.iterating = true;
    return {
      next: async (): Promise<IteratorResult<GenerationChunk>> => {
        for (;;) {
          const chunk = this.chunks.shift();
          if (chunk) return { value: chunk, done: false };
          if (this.done) {
            if (this.error) throw this.error;
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => (this.waiter = resolve));
        }
      },
      return: async (): Promise<IteratorResult<GenerationChunk>> => {
        this.abort();
        this.chunks = [];
        return { value: undefined, done: true };
      },
    };
  }
}
