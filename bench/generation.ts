import type { InferenceEngine } from '../server/src/inference/engine';
import type { SamplingParams } from '../server/src/inference/sampling';

/** The story openings the inference benches generate from (the built-in model's domain). */
export const PROMPTS = [
  'Once upon a time, there was a little girl named Lily.',
  'The dragon looked at the castle and',
  'Tom and his dog went to the park. They',
  'In the morning the sun came up over the hills, and the birds',
  'She opened the old box and found',
  'The wind was cold.',
  'Ben wanted to build a boat, so he asked his dad',
  'Far away, in a forest full of tall trees, lived a small fox who',
];


export interface TimedRun {
  tokens: number;
  /** From `t0` to the first token. */
  ttftMs: number;
  /** From `t0` to the end. */
  endMs: number;
}

/** One fixed-seed, fixed-length (`ignoreEos`) request straight into the engine's scheduler, timed from `t0`. */
export function timedGeneration(
  engine: InferenceEngine,
  req: { promptIds: number[]; roomId: string; maxTokens: number; sampling: SamplingParams; seed: number },
  t0: number,
): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    let first = -1;
    let n = 0;
    engine.scheduler().add({
      ...req,
      stop: [],
      ignoreEos: true,
      onToken: () => {
        n++;
        if (first < 0) first = performance.now();
      },
      onFinish: () => resolve({ tokens: n, ttftMs: first - t0, endMs: performance.now() - t0 }),
      onError: reject,
    });
  });
}
