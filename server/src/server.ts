import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { CLOSE_CODES } from '@ensemble/shared';
import type { Config } from './config';
import type { Extension, ServerContext } from './ports';
import { createTokenService, resolveTokenSecret } from './auth/tokens';
import { createRequireToken } from './auth/middleware';
import { SocketLimiter } from './auth/socket-limiter';
import { createApp } from './http/app';
import { exportRoutes } from './exports/route';
import { createImageRouter } from './images/route';
import type { Inference } from './inference';
import { openAiRouterFromConfig } from './openai';
import { createLogger } from './logger';
import { Metrics, instrumentStore } from './metrics';
import { provenanceRoutes } from './provenance/route';
import { RoomService } from './rooms/room-service';
import { connectRedisScale, type RedisScale } from './scale';
import { roomRoutes } from './rooms/routes';
import type { Stores } from './storage/store';
import { DocumentRegistry } from './sync/document-registry';
import { RecoveryFileError, replayRecoveryFiles, writeRecoveryFile } from './sync/recovery-file';
import { SyncServer } from './sync/sync-server';
import { AutoSnapshots } from './versions/auto-snapshots';
import { DocumentChanges } from './versions/document-changes';
import { VersionService } from './versions/version-service';
import { versionRoutes } from './versions/routes';

/** /v1 beside the rooms serves outside clients: every token at once, 600 requests a minute per key (burst 60). */
const PUBLIC_API_DEFAULTS = { streamIntervalMs: 0, rate: { perMin: 600, burst: 60 } };

export interface EnsembleServerOptions {
  extensions?: Extension[];
  /** An initialized store; when absent one is created from the config (createStore) and owned. */
  store?: Stores;
  logger?: Logger;
  /**
   * The inference engine the OpenAI-compatible API (/v1, served when ENSEMBLE_API_KEYS is set)
   * answers with: a getter, because the engine is loaded when the extension that owns it starts.
   */
  inference?: () => Inference | null;
}

/** What a shutdown did with the updates it had; the caller reports it (main.ts: the exit code). */
export interface ShutdownOutcome {
  /** Rooms whose updates did not reach the store within the grace period (empty: everything did). */
  unflushedRooms: string[];
  /** Where those updates were saved instead; null when there were none or saving them failed. */
  recoveryFile: string | null;
  /** Why they could not be saved to a recovery file either: they are lost. */
  recoveryError: RecoveryFileError | null;
}

export interface EnsembleServer {
  /**
   * The first call replays recovery files left by a failed shutdown into the store (throwing
   * RecoveryFileError when it cannot), then starts the extensions, then opens the port.
   */
  listen(): Promise<{ port: number }>;
  /**
   * Stops extensions, closes every connection (1001), flushes every document (retrying a failing
   * store for ENSEMBLE_SHUTDOWN_GRACE_MS, or until `giveUp` aborts), saves what the store did not
   * take to a recovery file, closes an owned store.
   */
  close(options?: { giveUp?: AbortSignal }): Promise<ShutdownOutcome>;
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
  let ownedStore: Stores | null = null;
  let rawStore = options.store;
  if (!rawStore) {
    const { createStore } = await import('./storage/index');
    ownedStore = rawStore = createStore(config);
    await rawStore.init();
  }
  const store = instrumentStore(rawStore, metrics);
  // Several processes serving the same rooms (config refuses this without a shared MongoDB).
  const scale: RedisScale | null = config.ENSEMBLE_REDIS_URL ? await connectRedisScale(config, logger.child({ component: 'scale' }), { metricsRegistry: metrics.registry }) : null;
  const tokens = createTokenService(config);
  const registry = new DocumentRegistry({
    log: store.documents,
    logger: logger.child({ component: 'documents' }),
    metrics,
    flushMs: config.ENSEMBLE_FLUSH_MS,
    compactEvery: config.ENSEMBLE_COMPACT_EVERY,
    pending: { maxBytes: config.ENSEMBLE_PENDING_BYTES, ttlMs: config.ENSEMBLE_PENDING_TTL_MS },
    ...(scale ? { bus: scale.bus } : {}),
  });
  const requireToken = createRequireToken(tokens, store.rooms);
  const rooms = new RoomService(store.rooms, tokens, resolveTokenSecret(config));
  const { app, api } = createApp({
    metrics: metrics.registry,
    // Degraded (Redis down) is still 200: every process serves its own members, and a 503 would
    // pull all of them out of the load balancer at once when the shared Redis fails.
    health: () => {
      const engine = options.inference?.();
      return {
        store: store.kind,
        role: config.ENSEMBLE_ROLE,
        ...(scale ? { redis: scale.status(), degraded: !scale.available.up, processId: scale.agentLeases.processId } : {}),
        ...(engine?.status ? { inference: engine.status() } : {}),
      };
    },
    logger: logger.child({ component: 'http' }),
    clientDir: config.ENSEMBLE_CLIENT_DIR,
    routers: config.ENSEMBLE_API_KEYS.length > 0
      ? { '/v1': openAiRouterFromConfig(config, options.inference ?? (() => null), PUBLIC_API_DEFAULTS) }
      : {},
  });
  // The feature routers; extensions mount theirs on `api` after these (ctx.api).
  api.use(roomRoutes(rooms, requireToken, config.ENSEMBLE_RATE_LIMIT_PER_MIN, scale?.budgets));
  const documentChanges = new DocumentChanges(registry);
  const versions = new VersionService(store.rooms, store.versions, registry, documentChanges);
  const autoSnapshots = new AutoSnapshots(documentChanges, versions, config.ENSEMBLE_SNAPSHOT_INTERVAL_MS, logger.child({ component: 'versions' }));
  api.use(versionRoutes(versions, requireToken));
  api.use(createImageRouter({ images: store.records, requireToken }));
  api.use(exportRoutes({ rooms: store.rooms, records: store.records, documentLog: store.documents, documents: registry, requireToken }));
  api.use(provenanceRoutes({ rooms: store.rooms, records: store.records, documentLog: store.documents, documents: registry, requireToken }));
  const httpServer = http.createServer(app);
  const sync = new SyncServer({
    registry,
    tokens,
    rooms: store.rooms,
    logger: logger.child({ component: 'sync' }),
    metrics,
    maxMessageBytes: config.ENSEMBLE_MAX_MESSAGE_BYTES,
    updateLimits: {
      maxStructs: config.ENSEMBLE_MAX_UPDATE_STRUCTS,
      maxDepth: config.ENSEMBLE_MAX_DOC_DEPTH,
      maxNewClients: config.ENSEMBLE_MAX_NEW_CLIENTS,
    },
    inbound: { bytesPerSec: config.ENSEMBLE_INBOUND_BYTES_PER_SEC, burstBytes: config.ENSEMBLE_INBOUND_BURST_BYTES },
    connectsPerSec: config.ENSEMBLE_SYNC_CONNECTS_PER_SEC,
    awareness: { maxStateBytes: config.ENSEMBLE_MAX_AWARENESS_BYTES, updatesPerSec: config.ENSEMBLE_AWARENESS_PER_SEC },
    maxBufferedBytes: config.ENSEMBLE_MAX_BUFFERED_BYTES,
    sockets: new SocketLimiter(config.ENSEMBLE_MAX_SOCKETS_PER_MEMBER, config.ENSEMBLE_MAX_SOCKETS_PER_ADDRESS),
  });
  sync.attach(httpServer);
  // Every process's listeners hear every process's room events (scale/room-event-relay.ts).
  const roomEvents = scale ? await scale.relayRoomEvents(rooms) : rooms;
  roomEvents.on('memberRemoved', (roomId, memberId) => sync.closeMember(roomId, memberId, CLOSE_CODES.memberRemoved, 'removed from the room by its owner'));
  roomEvents.on('settingsChanged', (roomId, settings) => {
    if (!settings.assignmentMode) sync.closeStudentDrafts(roomId);
  });

  const context: ServerContext = {
    config, logger, store, tokens, documents: registry, rooms: roomEvents, httpServer, api, requireToken, metricsRegistry: metrics.registry,
    ...(scale ? { collabAdapter: scale.collabAdapter, agentLeases: scale.agentLeases, agentRelay: scale.agentRelay, sharedBudgets: scale.budgets } : {}),
  };
  const extensions = options.extensions ?? [];
  let started = false;
  let closing: Promise<ShutdownOutcome> | null = null;

  async function listen(): Promise<{ port: number }> {
    if (!started) {
      // Before anything can load a room: rooms are served with the updates a failed shutdown saved.
      await replayRecoveryFiles(config.ENSEMBLE_DATA_DIR, store.documents, logger.child({ component: 'recovery' }));
      started = true;
      for (const extension of extensions) {
        await extension.start(context);
        logger.info({ extension: extension.name }, 'extension started');
      }
      autoSnapshots.start();
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

  async function doClose(giveUpEarly?: AbortSignal): Promise<ShutdownOutcome> {
    // The grace period starts now. A ref'd timer, so the process cannot drift into a silent exit 0.
    const grace = new AbortController();
    const graceTimer = setTimeout(() => grace.abort(), config.ENSEMBLE_SHUTDOWN_GRACE_MS);
    giveUpEarly?.addEventListener('abort', () => grace.abort(), { once: true });
    if (giveUpEarly?.aborted) grace.abort();
    const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
    for (const extension of [...extensions].reverse()) {
      try {
        await extension.stop?.();
      } catch (err) {
        logger.error({ err, extension: extension.name }, 'extension failed to stop');
      }
    }
    // Before the documents are flushed: a round in progress still holds (acquired) rooms.
    await autoSnapshots.stop();
    sync.close();
    await sync.drain();
    const unflushed = await registry.closeAll(grace.signal);
    clearTimeout(graceTimer);
    await scale?.close().catch((err: unknown) => logger.error({ err }, 'closing the Redis connections failed'));
    const outcome: ShutdownOutcome = { unflushedRooms: unflushed.map((r) => r.roomId), recoveryFile: null, recoveryError: null };
    if (unflushed.length > 0) {
      try {
        outcome.recoveryFile = await writeRecoveryFile(config.ENSEMBLE_DATA_DIR, unflushed);
      } catch (err) {
        outcome.recoveryError = err instanceof RecoveryFileError ? err : new RecoveryFileError(String(err), config.ENSEMBLE_DATA_DIR, { cause: err });
      }
    }
    httpServer.closeAllConnections();
    await closed;
    if (ownedStore) {
      try {
        await ownedStore.close();
      } catch (err) {
        logger.error({ err }, 'closing the store failed');
      }
    }
    return outcome;
  }

  return {
    listen,
    close: (options) => (closing ??= doClose(options?.giveUp)),
    context,
    registry,
    sync,
    metrics,
  };
}
