import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigSchema, type Config } from '../../server/src/config';
import type { Extension } from '../../server/src/ports';
import { createEnsembleServer, type EnsembleServer } from '../../server/src/server';
import { createStore } from '../../server/src/storage/index';
import type { Stores } from '../../server/src/storage/store';

export interface TestServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** ws://127.0.0.1:PORT/sync — the serverUrl for a stock WebsocketProvider. */
  syncUrl: string;
  port: number;
  config: Config;
  dataDir: string;
  store: Stores;
  server: EnsembleServer;
  /** Closes the server (flushes documents) and the store; removes the data dir unless `keepData`. */
  close(): Promise<void>;
}

export interface StartServerOptions {
  /** Environment-style overrides (strings, as in process.env), e.g. { ENSEMBLE_FLUSH_MS: '10' }. */
  env?: Record<string, string>;
  extensions?: Extension[];
  /** Use this store instead of a fresh SQLite store in `dataDir` (the caller closes it). */
  store?: Stores;
  /** Reuse a data directory (e.g. to restart on the same data). */
  dataDir?: string;
  keepData?: boolean;
}

/** A temporary data directory under the OS temp dir. */
export function tempDataDir(prefix = 'ensemble-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Test configuration: port 0 on 127.0.0.1, silent logs, AI off, a generous rate limit. */
export function testConfig(dataDir: string, env: Record<string, string> = {}): Config {
  return ConfigSchema.parse({
    PORT: '0',
    HOST: '127.0.0.1',
    ENSEMBLE_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ENSEMBLE_DISABLE_AI: 'true',
    ENSEMBLE_RATE_LIMIT_PER_MIN: '100000',
    ENSEMBLE_CLIENT_DIR: path.join(dataDir, 'no-client'),
    ...env,
  });
}

/** Starts an in-process Ensemble server on a real port with SQLite storage in a temp dir. */
export async function startServer(options: StartServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDataDir();
  const config = testConfig(dataDir, options.env);
  const ownStore = !options.store;
  const store = options.store ?? createStore(config);
  if (ownStore) await store.init();
  const server = await createEnsembleServer(config, { store, extensions: options.extensions ?? [] });
  const { port } = await server.listen();
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    syncUrl: `ws://127.0.0.1:${port}/sync`,
    port,
    config,
    dataDir,
    store,
    server,
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      if (ownStore) await store.close();
      if (!options.keepData && !options.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
