import { ConfigError, loadConfig, type Config } from './config';
import { createAiCollaborator } from './agent/ai-collaborator';
import type { Extension } from './context';
import { createLogger } from './logger';
import { createEnsembleServer } from './server';
import { createStore } from './storage/index';

/**
 * `node --import tsx server/src/main.ts`: loads the configuration from the environment, opens the
 * store, starts the server and prints one parseable line `ENSEMBLE_LISTENING port=<port> url=<url>`.
 * SIGTERM/SIGINT flush every document, then exit.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config);
  const store = createStore(config);
  await store.init();

  const extensions: Extension[] = [createAiCollaborator(config)];

  const server = await createEnsembleServer(config, { store, logger, extensions });
  const { port } = await server.listen();
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
  const url = `http://${host}:${port}`;
  logger.info({ port, url, store: store.kind }, 'Ensemble is listening');
  process.stdout.write(`ENSEMBLE_LISTENING port=${port} url=${url}\n`);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: flushing documents');
    server
      .close()
      .then(() => store.close())
      .then(() => {
        logger.info('shutdown complete');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`Ensemble failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
