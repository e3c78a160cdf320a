// Instruct models through the engine: a model folder whose tokenizer_config.json carries a chat
// template takes `messages`, and generation ends on every id of generation_config.json's eos_token_id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine } from '../../server/src/inference/engine';
import { WorkerInferenceEngine } from '../../server/src/inference/worker-engine';
import type { ChatMessage } from '../../server/src/inference/chat-template';
import type { GenerationResult } from '../../server/src/inference/stream';
import { MODELS_DIR, firstId, instructModelsDir, manifestJson } from './helpers';

const quiet = { info: () => {}, warn: () => {} };
const greedy = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 };
const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You tell short stories.' },
  { role: 'user', content: 'Once upon a time there was a little dog' },
];
const instructModels = (generationConfig?: Record<string, unknown>): string => instructModelsDir(undefined, generationConfig);

function schedulerRun(engine: InferenceEngine, promptIds: number[], ignoreEos: boolean): Promise<{ ids: number[]; result: GenerationResult }> {
  return new Promise((resolve, reject) => {
    const h = engine.scheduler().add({
      promptIds, roomId: 'r', maxTokens: 16, sampling: greedy, seed: 1, stop: [], ignoreEos,
      onFinish: (result) => resolve({ ids: [...h.generatedIds], result }),
      onError: reject,
    });
  });
}

let base: InferenceEngine;
let instruct: InferenceEngine;
beforeAll(async () => {
  base = await InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'cpu', maxBatch: 4, logger: quiet });
  instruct = await InferenceEngine.load({ modelsDir: instructModels(), device: 'cpu', maxBatch: 4, logger: quiet });
});
afterAll(async () => {
  await base?.close();
  await instruct?.close();
});

describe('instruct models (a chat template in the folder)', () => {
  it('ModelInfo says which text models are instruct models', () => {
    expect(instruct.models()[0]).toMatchObject({ task: 'text-generation', instruct: true });
    expect(base.models().find((m) => m.task === 'text-generation')!.instruct).toBeUndefined();
  });

  it('renders messages through the template and generates the reply (tokens as transformers tokenizes it: no second BOS)', async () => {
    const req = { prompt: '', messages: MESSAGES, roomId: 'r', maxTokens: 16, ...greedy, seed: 1, ignoreEos: true };
    const viaMessages = await instruct.generate(req).result;
    const rendered = `<s>system: You tell short stories.\nuser: Once upon a time there was a little dog\nassistant:`;
    const ids = instruct.tokenizer().encode(rendered, false);
    expect(ids.filter((t) => t === instruct.tokenizer().tokenToId('<s>'))).toHaveLength(1);
    const direct = await schedulerRun(instruct, ids, true);
    expect(viaMessages.text).toBe(instruct.tokenizer().decode(direct.ids));
    expect(viaMessages.tokens).toBe(16);
  });

  it('a base model refuses messages with no_chat_template; empty messages are empty_prompt', () => {
    expect(() => base.generate({ prompt: '', messages: MESSAGES, roomId: 'r' })).toThrow(expect.objectContaining({ code: 'no_chat_template' }));
    expect(() => instruct.generate({ prompt: '', messages: [{ role: 'user', content: '  ' }], roomId: 'r' })).toThrow(expect.objectContaining({ code: 'empty_prompt' }));
    expect(() => instruct.generate({ prompt: '', messages: [{ role: 'robot' as 'user', content: 'x' }], roomId: 'r' })).toThrow(/messages\[0\] must be/);
  });

  it('stops on any id of generation_config.json eos_token_id, not only the manifest eos', async () => {
    const ids = instruct.tokenizer().encode('<s>user: Tom went to the park\nassistant:', false);
    const free = await schedulerRun(instruct, ids, true);
    // The first generated token not seen before position k becomes an extra end-of-turn id.
    const k = free.ids.findIndex((t, i) => i >= 2 && !free.ids.slice(0, i).includes(t));
    expect(k).toBeGreaterThanOrEqual(2);
    const extraEos = free.ids[k]!;
    const eosFromManifest = manifestJson().models.find((m) => m.id === firstId('text-generation'))!;
    const stopping = await InferenceEngine.load({
      modelsDir: instructModels({ eos_token_id: [(eosFromManifest as { eosTokenId: number }).eosTokenId, extraEos] }),
      device: 'cpu',
      maxBatch: 4,
      logger: quiet,
    });
    try {
      const cut = await schedulerRun(stopping, ids, false);
      expect(cut.result.finishReason).toBe('stop');
      expect(cut.ids).toEqual(free.ids.slice(0, k));
      // minTokens keeps every stop id from being sampled early, like the manifest's own eos.
      const later = await stopping.generate({ prompt: '', messages: [{ role: 'user', content: 'Tom went to the park' }], roomId: 'r', maxTokens: 16, ...greedy, seed: 1, minTokens: k + 1 }).result;
      expect(later.tokens).toBeGreaterThan(k);
    } finally {
      await stopping.close();
    }
  });

  it('works the same on the worker-thread engine (messages cross the port as plain data)', async () => {
    const remote = await WorkerInferenceEngine.load({ modelsDir: instructModels(), device: 'cpu', maxBatch: 2, logger: quiet });
    try {
      expect(remote.models()).toEqual(instruct.models());
      const req = { prompt: '', messages: MESSAGES, roomId: 'r', maxTokens: 12, ...greedy, seed: 1 };
      expect((await remote.generate(req).result).text).toBe((await instruct.generate(req).result).text);
    } finally {
      await remote.close();
    }
  });
});
