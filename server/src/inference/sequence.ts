/** One request inside the scheduler: what it asked for, its sampling state and its output. */
import type { RunnerSeq } from './batch-runner';
import type { KVBatch } from './causal-lm';
import type { InferenceError } from './errors';
import { RequestOutput } from './output';
import { Rng, type SamplingParams } from './sampling';
import type { GenerationResult } from './stream';
import type { TextTokenizer } from './tokenizer';

export interface SequenceRequest {
  /** Token ids of the prompt (may be longer than the context: it is truncated here). */
  promptIds: number[];
  roomId: string;
  maxTokens: number;
  sampling: SamplingParams;
  seed: number;
  stop: string[];
  /** Never end on EOS (EOS is not sampled): generate until maxTokens, a stop string or the context. */
  ignoreEos?: boolean;
  /** EOS is not sampled before this many tokens and a visible character (min_new_tokens, see RequestOutput.constrain). */
  minTokens?: number;
  /** Spaces cut from the end of the prompt text before encoding (output.ts `healTrailingSpace`). */
  healedSpace?: string;
  /** Absolute time (Date.now() ms) after which the request is cut off. */
  deadlineAt?: number;
  onText?: (text: string, tokenId: number) => void;
  /** Every sampled token (EOS included), before its text is released. */
  onToken?: (tokenId: number) => void;
  onFinish?: (result: GenerationResult) => void;
  onError?: (err: InferenceError) => void;
}

export type SequenceState = 'waiting' | 'running' | 'finished';

export interface SequenceHandle {
  readonly id: number;
  readonly state: SequenceState;
  /** Prompt tokens after truncation. */
  readonly promptIds: readonly number[];
  readonly truncated: boolean;
  /** Step index at which the request was admitted (undefined while waiting). */
  readonly admittedAtStep: number | undefined;
  readonly generatedIds: readonly number[];
}

export class Sequence implements SequenceHandle, RunnerSeq {
  state: SequenceState = 'waiting';
  admittedAtStep: number | undefined;
  generatedIds: number[] = [];
  kvLen = 0;
  nextInput = -1;
  row = -1;
  kvSource: KVBatch | null = null;
  readonly rng: Rng;
  readonly output: RequestOutput;
  readonly enqueuedAt = performance.now();
  firstTokenAt: number | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  readonly history: Set<number>;

  constructor(
    readonly id: number,
    readonly req: SequenceRequest,
    readonly promptIds: number[],
    readonly truncated: boolean,
    readonly maxTokens: number,
    tokenizer: TextTokenizer,
  ) {
    this.rng = new Rng(req.seed);
    this.output = new RequestOutput(tokenizer, promptIds, req.stop, req.onText, { minTokens: req.minTokens, healedSpace: req.healedSpace });
    this.history = new Set(promptIds);
  }

  get roomId(): string {
    return this.req.roomId;
  }

  get sampling(): SamplingParams {
    return this.req.sampling;
  }

  get mayEnd(): boolean {
    const min = this.req.minTokens ?? 0;
    return !(this.req.ignoreEos || this.generatedIds.length < min || (min > 0 && !this.output.visible));
  }

  readonly constrain = (logits: Float32Array): void => this.output.constrain(logits);
}
