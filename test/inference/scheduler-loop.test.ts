// The running scheduler (autoRun): a burst of requests added in one tick joins the loop's first
// step, and a graph that returns logits for every prompt position gets a prefill budget bounded
// by the size of those logits.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CausalLM } from '../../server/src/inference/causal-lm';
import { modelFile, openSession, readManifest, type TextGenerationEntry } from '../../server/src/inference/manifest';
import { Scheduler, type SequenceHandle } from '../../server/src/inference/scheduler';
import { TextTokenizer } from '../../server/src/inference/tokenizer';
import { MODELS_DIR } from './helpers';

const greedy = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 };
const FIXTURE = path.join(MODELS_DIR, 'fixtures/hf/qwen2-gqa');

describe('the scheduler loop', () => {
  let lm: CausalLM;
  let tokenizer: TextTokenizer;
  let release: () => Promise<void>;
  beforeAll(async () => {
    const manifest = readManifest(MODELS_DIR, { textModel: FIXTURE });
    const entry = manifest.models[0] as TextGenerationEntry;
    const session = await openSession(manifest, entry);
    lm = new CausalLM(session, entry, modelFile(manifest, entry, 'model'));
    tokenizer = TextTokenizer.fromFiles(path.join(entry.folder, 'tokenizer.json'));
    release = () => session.release();
  });
  afterAll(() => release?.());

  it('requests added in the tick that starts the loop are admitted at its first step, together', async () => {
    const sched = new Scheduler(lm, tokenizer, { maxBatch: 8, maxQueue: 64 });
    const done: Promise<unknown>[] = [];
    const handles: SequenceHandle[] = [];
    for (let i = 0; i < 6; i++) {
      done.push(
        new Promise((resolve, reject) => {
          handles.push(sched.add({ promptIds: [1, 20 + i, 30 + i, 40 + i], roomId: `room-${i}`, maxTokens: 3, sampling: greedy, seed: 0, stop: [], ignoreEos: true, onFinish: resolve, onError: reject }));
        }),
      );
    }
    await Promise.all(done);
    await sched.close();
    expect(new Set(handles.map((h) => h.admittedAtStep))).toEqual(new Set([handles[0]!.admittedAtStep]));
  });

  it('without num_logits_to_keep the prefill budget is cut so one pass makes at most 256 MiB of logits', () => {
    const asIf = (vocabSize: number, hasLogitsToKeep: boolean): number => {
      const shaped = Object.assign(Object.create(Object.getPrototypeOf(lm)), lm, { vocabSize, hasLogitsToKeep }) as CausalLM;
      const s = new Scheduler(shaped, tokenizer, { maxBatch: 8, maxQueue: 8, autoRun: false });
      return (s as unknown as { prefillTokenBudget: number }).prefillTokenBudget;
    };
    expect(asIf(151_936, false)).toBe(441); // 256 MiB / (4 bytes × 151,936)
    expect(asIf(151_936, true)).toBe(2048);
    expect(asIf(4096, false)).toBe(2048);
  });
});
