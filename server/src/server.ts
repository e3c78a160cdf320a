import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { CLOSE_CODES } from '@ensemble/shared';
import type { Config } from './config';
import type { Extension, ServerContext } from './context';
import { createTokenService, resolveTokenSecret } from './auth/tokens';
import { createRequireToken } from './auth/middleware';
import { SocketLimiter } from './auth/socket-limiter';
import { createApp } from './http/app';
import { createLogger } from './logger';
import { Metrics, instrumentStore } from './metrics';
import { RoomService } from './rooms/room-service';
import type { Store } from './storage/store';
import { DocumentRegistry } from './sync/document-registry';
import { SyncServer } from './sync/sync-server';

export interface EnsembleServerOptions {
  extensions?: Extension[];
  /** An initialized store; when absent one is created from the config (createStore) and owned. */
  store?: Store;
  logger?: Logger;
}

export interface EnsembleServer {
  listen(): Promise<{ port: number }>;
  /** Stops extensions, closes every connection (1001), flushes every document, closes an owned store. */
  close(): Promise<void>;
  readonly context: ServerContext;
  /** Internals for tests and benchmarks. */
  readonly registry: DocumentRegistry;
  readonly sync: SyncServer;
  readonly metrics: Metrics;
}

/**
 * Builds the whole server: HTTP app, y-websocket sync endpoint, document registry, token service,
 * metrics, and the ServerContext each extension's `start(ctx)` receives (called by `listen()`,
 * before the port opens).
 */
export async function createEnsembleServer(config: Config, options: EnsembleServerOptions = {}): Promise<EnsembleServer> {
  const logger = options.logger ?? createLogger(config);
  const metrics = new Metrics({ defaultMetrics: true });
  let ownedStore: Store | null = null;
  let rawStore = options.store;
  if (!rawStore) {
    const { createStore } = await import('./storage/index');
    ownedStore = rawStore = createStore(config);
    await rawStore.init();
  }
  const store = instrumentStore(rawStore, metrics);
  const tokens = createTokenService(config);
  const registry = new DocumentRegistry({
    store,
    logger: logger.child({ component: 'documents' }),
    metrics,
    flushMs: config.ENSEMBLE_FLUSH_MS,
    compactEvery: config.ENSEMBLE_COMPACT_EVERY,
  });
  const requireToken = createRequireToken(tokens, store);
  const rooms = new RoomService(store, tokens, registry, resolveTokenSecret(config));
  const { app, api } = createApp({
    rooms,
    requireToken,
    metrics,
    store,
    logger: logger.child({ component: 'http' }),
    clientDir: config.ENSEMBLE_CLIENT_DIR,
    ratePerMinute: config.ENSEMBLE_RATE_LIMIT_PER_MIN,
  });
  const httpServer = http.createServer(app);
  const sync = new SyncServer({
    registry,
    tokens,
    store,
    logger: logger.child({ component: 'sync' }),
    metrics,
    maxMessageBytes: config.ENSEMBLE_MAX_MESSAGE_BYTES,
    sockets: new SocketLimiter(config.ENSEMBLE_MAX_SOCKETS_PER_MEMBER, config.ENSEMBLE_MAX_SOCKETS_PER_ADDRESS),
  });
  sync.attach(httpServer);
  rooms.on('memberRemoved', (roomId, memberId) => sync.closeMember(roomId, memberId, CLOSE_CODES.memberRemoved, 'removed from the room by its owner'));

  const context: ServerContext = { config, logger, store, tokens, documents: registry, rooms, httpServer, api, requireToken, metrics: metrics.registry };
  const extensions = options.extensions ?? [];
  let started = false;
  let closing: Promise<void> | null = null;

  async function listen(): Promise<{ port: number }> {
    if (!started) {
      started = true;
      for (const extension of extensions) {
        await extension.start(context);
        logger.info({ extension: extension.name }, 'extension started');
      }
    }
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.PORT, config.HOST, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
    return { port: (httpServer.address() as AddressInfo).port };
  }

  async function doClose(): Promise<void> {
    const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
    for (const extension of [...extensions].reverse()) {
      try {
        await extension.stop?.();
      } catch (err) {
        logger.error({ err, extension: extension.name }, 'extension failed to stop');
      }
    }
    sync.close();
    await sync.drain();
    const failed = await registry.closeAll();
    if (failed.length > 0) logger.error({ rooms: failed }, 'some rooms could not be flushed');
    httpServer.closeAllConnections();
    await closed;
    if (ownedStore) await ownedStore.close();
  }

  return {
    listen,
    close: () => (closing ??= doClose()),
    context,
    registry,
    sync,
    metrics,
  };
}
