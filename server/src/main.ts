import { ConfigError, loadConfig, type Config } from './config';
import { createAiCollaborator, workerEngine, type EngineLoader } from './agent';
import { createInferenceServer } from './inference-server';
import { RemoteInference, remoteInferenceOptions } from './remote-inference';
import type { Extension } from './ports';
import { EXIT_CODES } from './exit-codes';
import { createLogger, type Logger } from './logger';
import { createEnsembleServer, type ShutdownOutcome } from './server';
import { createStore } from './storage/index';
import type { Stores } from './storage/store';
import { RecoveryFileError } from './sync/recovery-file';

/** How long closing the store may take once the shutdown's outcome is known. */
const STORE_CLOSE_TIMEOUT_MS = 2000;

/**
 * `node --import tsx server/src/main.ts`: loads the configuration from the environment, opens the
 * store, replays recovery files a failed shutdown left, starts the server and prints one parseable
 * line `ENSEMBLE_LISTENING port=<port> url=<url>`. SIGTERM/SIGINT flush every document, then exit
 * with a code that says whether everything reached the store (exit-codes.ts).
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT_CODES.badConfig);
    }
    throw err;
  }
  const logger = createLogger(config);
  if (config.ENSEMBLE_ROLE === 'inference') return runInferenceWorker(config, logger);
  const store = createStore(config);
  await store.init();

  // One engine for the room agents and the OpenAI-compatible API: the collaborator loads it when
  // the server starts (before the port opens), /v1 reads it through the getter.
  // The models run here (a worker thread), or on the engines ENSEMBLE_INFERENCE_URL names.
  const loadEngine: EngineLoader =
    config.ENSEMBLE_INFERENCE_URL.length > 0
      ? (ctx) => RemoteInference.connect(remoteInferenceOptions(config, { logger: ctx.logger, metrics: ctx.metricsRegistry }))
      : workerEngine(config);
  const collaborator = createAiCollaborator(config, loadEngine);
  const extensions: Extension[] = [collaborator];

  const server = await createEnsembleServer(config, { store, logger, extensions, inference: () => collaborator.engine() });
  let port: number;
  try {
    ({ port } = await server.listen());
  } catch (err) {
    if (!(err instanceof RecoveryFileError)) throw err;
    logger.fatal({ err, recoveryFile: err.file }, `refusing to start: ${err.message}. The file is kept; fix the store and start again`);
    process.exit(EXIT_CODES.recoveryReplayFailed);
  }
  let signals = 0;
  // A second signal ends the grace period at once (what is unflushed still goes to the recovery
  // file); a third one exits without waiting for anything.
  const impatient = new AbortController();
  const shutdown = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 2) {
      logger.warn({ signal }, 'second signal: no more retries, saving what is left to a recovery file');
      impatient.abort();
      return;
    }
    if (signals > 2) {
      logger.fatal({ signal }, 'third signal: exiting without waiting; updates not yet stored or saved may be lost');
      process.exit(EXIT_CODES.failed);
    }
    // Should the event loop ever run dry before an explicit exit, the exit code must not say "fine".
    process.exitCode = EXIT_CODES.failed;
    logger.info({ signal, graceMs: config.ENSEMBLE_SHUTDOWN_GRACE_MS }, 'shutting down: flushing documents');
    server
      .close({ giveUp: impatient.signal })
      .then(async (outcome) => {
        await closeStore(store, logger);
        process.exit(report(outcome, logger));
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(EXIT_CODES.failed);
      });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // Handlers first: whoever reads the line below may signal at once.
  announce(config, port, logger, { store: store.kind, role: config.ENSEMBLE_ROLE }, 'Ensemble is listening');
}

/** ENSEMBLE_ROLE=inference: only the models and /v1; a signal closes open streams and exits. */
async function runInferenceWorker(config: Config, logger: Logger): Promise<void> {
  const server = await createInferenceServer(config, logger);
  const { port } = await server.listen();
  const shutdown = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'inference worker shutting down');
    server.close().then(
      () => process.exit(EXIT_CODES.ok),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(EXIT_CODES.failed);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  announce(config, port, logger, { role: 'inference', models: server.engine.models().map((m) => m.id) }, 'Ensemble inference worker is listening');
}

/** Logs where the server listens and prints the one parseable line `ENSEMBLE_LISTENING port=<port> url=<url>`. */
function announce(config: Config, port: number, logger: Logger, fields: object, msg: string): void {
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
  const url = `http://${host}:${port}`;
  logger.info({ port, url, ...fields }, msg);
  process.stdout.write(`ENSEMBLE_LISTENING port=${port} url=${url}\n`);
}

/** Logs what happened to the updates and returns the exit code that says the same. */
function report(outcome: ShutdownOutcome, logger: Logger): number {
  const rooms = outcome.unflushedRooms;
  if (rooms.length === 0) {
    logger.info('shutdown complete');
    return EXIT_CODES.ok;
  }
  if (outcome.recoveryFile) {
    logger.error(
      { rooms, recoveryFile: outcome.recoveryFile, exitCode: EXIT_CODES.savedToRecoveryFile },
      `shutdown incomplete: updates of ${rooms.length} room(s) did not reach the store; saved to ${outcome.recoveryFile}, replayed at the next start`,
    );
    return EXIT_CODES.savedToRecoveryFile;
  }
  logger.fatal(
    { err: outcome.recoveryError, rooms, recoveryFile: outcome.recoveryError?.file, exitCode: EXIT_CODES.updatesLost },
    `UPDATES LOST: updates of ${rooms.length} room(s) (${rooms.join(', ')}) did not reach the store and the recovery file could not be written: ${outcome.recoveryError?.message ?? 'unknown error'}`,
  );
  return EXIT_CODES.updatesLost;
}

/** The outcome is known by now: a store that fails or hangs while closing must not change or delay it. */
async function closeStore(store: Stores, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      store.close(),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          logger.warn({ timeoutMs: STORE_CLOSE_TIMEOUT_MS }, 'closing the store timed out');
          resolve();
        }, STORE_CLOSE_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    logger.error({ err }, 'closing the store failed');
  } finally {
    clearTimeout(timer);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`Ensemble failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(EXIT_CODES.failed);
});
