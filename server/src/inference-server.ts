/**
 * ENSEMBLE_ROLE=inference: a model worker for sync processes (or any OpenAI client). Loads the
 * engine on a worker thread and serves only `/v1`, `/healthz` and `/metrics`: no rooms, no store,
 * no sync endpoint, no web client.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config';
import { createApp } from './http/app';
import { WorkerInferenceEngine, type Inference } from './inference';
import { engineOptions } from './inference-options';
import { Metrics } from './metrics';
import { openAiRouterFromConfig } from './openai';

/**
 * A worker's /v1 where the configuration is silent: deltas merged to one event per 20 ms
 * (bench/README.md, "Remote inference"), and no per-key rate, since a key is a sync process.
 */
const WORKER_API_DEFAULTS = { streamIntervalMs: 20, rate: null };

export interface InferenceServer {
  listen(): Promise<{ port: number }>;
  close(): Promise<void>;
  readonly engine: Inference;
}

export async function createInferenceServer(config: Config, logger: Logger): Promise<InferenceServer> {
  const metrics = new Metrics({ defaultMetrics: true });
  const engine = await WorkerInferenceEngine.load({ ...engineOptions(config), logger: logger.child({ component: 'inference' }), metrics: metrics.registry });
  const { app } = createApp({
    metrics: metrics.registry,
    health: () => ({ role: 'inference', device: engine.device, models: engine.models().map((m) => ({ id: m.id, task: m.task })) }),
    logger: logger.child({ component: 'http' }),
    clientDir: null,
    routers: {
      '/v1': openAiRouterFromConfig(config, () => engine, WORKER_API_DEFAULTS),
    },
  });
  const server = http.createServer(app);
  return {
    engine,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.PORT, config.HOST, () => {
          server.off('error', reject);
          resolve({ port: (server.address() as AddressInfo).port });
        });
      }),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Open streams end now (their clients see the connection close, as when a worker dies).
      server.closeAllConnections();
      await closed;
      await engine.close();
    },
  };
}
