/** A real Ensemble server on loopback serving /v1 from an in-process engine the test owns. */
import fs from 'node:fs';
import { createEnsembleServer } from '../../server/src/server';
import { createStore } from '../../server/src/storage/index';
import { InferenceEngine, type EngineOptions } from '../../server/src/inference/index';
import { tempDataDir, testConfig } from '../helpers/server';
import { MODELS_DIR } from '../inference/helpers';

export const KEY = 'sk-test-key-1';

export interface ApiServer {
  baseURL: string;
  engine: InferenceEngine;
  close(): Promise<void>;
}

export async function startApiServer(engineOptions: Partial<EngineOptions> = {}, env: Record<string, string> = {}): Promise<ApiServer> {
  const engine = await InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'cpu', ...engineOptions });
  const dataDir = tempDataDir('ensemble-openai-');
  const config = testConfig(dataDir, { ENSEMBLE_API_KEYS: `${KEY}, sk-other`, ...env });
  const store = createStore(config);
  await store.init();
  const server = await createEnsembleServer(config, { store, inference: () => engine });
  const { port } = await server.listen();
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    engine,
    async close() {
      await server.close();
      await store.close();
      await engine.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function waitFor(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
