/** A real Ensemble server on loopback serving /v1 from an in-process engine the test owns. */
import fs from 'node:fs';
import { createEnsembleServer } from '../../server/src/server';
import { createStore } from '../../server/src/storage/index';
import { Registry } from '../../server/src/inference/metrics';
import { InferenceEngine, type EngineOptions } from '../../server/src/inference/index';
import { tempDataDir, testConfig } from '../helpers/server';
import { MODELS_DIR } from '../inference/helpers';

export const KEY = 'sk-test-key-1';

export interface ApiServer {
  baseURL: string;
  engine: InferenceEngine;
  /** The engine's metrics. */
  metrics: Registry;
  /** How many text generations ended with this outcome (ensemble_inference_requests_total). */
  outcomes(outcome: string): Promise<number>;
  close(): Promise<void>;
}

export async function startApiServer(engineOptions: Partial<EngineOptions> = {}, env: Record<string, string> = {}): Promise<ApiServer> {
  const metrics = new Registry();
  const engine = await InferenceEngine.load({ modelsDir: MODELS_DIR, device: 'cpu', metrics, ...engineOptions });
  const dataDir = tempDataDir('ensemble-openai-');
  const config = testConfig(dataDir, { ENSEMBLE_API_KEYS: `${KEY}, sk-other`, ...env });
  const store = createStore(config);
  await store.init();
  const server = await createEnsembleServer(config, { store, inference: () => engine });
  const { port } = await server.listen();
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    engine,
    metrics,
    async outcomes(outcome) {
      const counter = (await metrics.getMetricsAsJSON()).find((m) => m.name === 'ensemble_inference_requests_total');
      return (counter?.values ?? []).filter((v) => v.labels.outcome === outcome).reduce((s, v) => s + v.value, 0);
    },
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
