/** How /v1 is mounted: not at all without keys; on the AI collaborator's own engine as main.ts wires it. */
import OpenAI, { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { createAiCollaborator } from '../../server/src/agent/index';
import { createEnsembleServer } from '../../server/src/server';
import { createStore } from '../../server/src/storage/index';
import { startServer, tempDataDir, testConfig } from '../helpers/server';
import { KEY } from './server';

describe('/v1 wiring', () => {
  it('is not served when ENSEMBLE_API_KEYS is unset', async () => {
    const s = await startServer();
    try {
      const r = await fetch(`${s.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(r.status).toBe(404);
      expect(r.headers.get('content-type') ?? '').not.toMatch(/json/);
    } finally {
      await s.close();
    }
  });

  it('uses the engine the AI collaborator loaded (worker thread), and answers 503 with AI disabled', async () => {
    for (const disabled of [false, true]) {
      const dataDir = tempDataDir('ensemble-openai-wiring-');
      const config = testConfig(dataDir, { ENSEMBLE_API_KEYS: KEY, ENSEMBLE_DISABLE_AI: String(disabled), ENSEMBLE_DEVICE: 'cpu' });
      const store = createStore(config);
      await store.init();
      const collaborator = createAiCollaborator(config);
      const server = await createEnsembleServer(config, { store, extensions: [collaborator], inference: () => collaborator.engine() });
      try {
        const { port } = await server.listen();
        const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: KEY, maxRetries: 0 });
        if (disabled) {
          expect(collaborator.engine()).toBeNull();
          const err = await client.models.list().then(() => null, (e: unknown) => e);
          expect(err).toBeInstanceOf(APIError);
          expect((err as APIError).status).toBe(503);
          continue;
        }
        const engine = collaborator.engine()!;
        const text = engine.models().find((m) => m.task === 'text-generation')!.id;
        const r = await client.completions.create({ model: text, prompt: 'Once upon a time', max_tokens: 6, temperature: 0 });
        const direct = await engine.generate({ prompt: 'Once upon a time', roomId: 'x', maxTokens: 6, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 }).result;
        expect(r.choices[0]!.text).toBe(direct.text);
        // The worker engine has no tokenizer on this thread: the count comes back with the result.
        expect(r.usage!.prompt_tokens).toBe(direct.promptTokens);
        expect(r.usage!.prompt_tokens).toBeGreaterThan(0);
      } finally {
        await server.close();
        await store.close();
      }
    }
  }, 60_000);
});
