import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { ORIGINS, type DocumentEvents, type RoomBus, type RoomChannel, type RoomDocuments, type TransactionOrigin } from '../ports';
import type { Metrics } from '../metrics';
import type { DocumentLog } from '../storage/store';
import { CLOSE_CODES } from '@ensemble/shared';
import type { PendingLimits } from './pending-updates';
import type { UnflushedRoom } from './recovery-file';
import { DocumentPoisonedError, RoomDocument, type Peer } from './room-document';
import { loadStoredDocument, type LoadedDocument } from './stored-document';
import { UpdateLog } from './update-log';

export interface DocumentRegistryOptions {
  log: DocumentLog;
  logger: Logger;
  metrics: Metrics;
  flushMs: number;
  compactEvery: number;
  pending?: PendingLimits;
  /** Other processes serving the same rooms (ENSEMBLE_REDIS_URL); absent: this process is the only one. */
  bus?: RoomBus;
}

/** Raised when a room's stored document cannot be loaded; its clients are closed with 4500. */
export class DocumentLoadError extends Error {
  constructor(
    readonly roomId: string,
    cause: unknown,
  ) {
    super(`document ${roomId} could not be loaded`, { cause });
    this.name = 'DocumentLoadError';
  }
}

/** The `source` label of the updates counter: the server's own, a member's, or an extension's. */
function updateSource(origin: unknown): 'server' | 'client' | 'extension' | 'remote' {
  const source = (origin as Partial<TransactionOrigin> | null)?.source;
  if (source === 'connection') return 'client';
  if (source === 'remote') return 'remote';
  return source === 'load' || source === 'restore' || source === 'authors' ? 'server' : 'extension';
}

/**
 * Every loaded room document. Loading is single-flight (concurrent claims share one load); a room
 * is referenced by its websocket connections and by `acquire` pins, and once both reach zero it
 * is flushed and unloaded. A claim that arrives while the unload flush runs keeps the document.
 * A failed load creates nothing (so nothing empty can ever be written over stored content).
 */
export class DocumentRegistry implements RoomDocuments {
  private readonly rooms = new Map<string, RoomDocument>();
  private readonly loading = new Map<string, Promise<RoomDocument>>();
  private readonly unloads = new Set<Promise<void>>();
  /** Rooms being reset: their last good updates are still being written; a reload waits for it. */
  private readonly resets = new Map<string, { room: RoomDocument; written: Promise<void> }>();
  private readonly events = new EventEmitter();
  private closing = false;

  constructor(private readonly options: DocumentRegistryOptions) {
    this.events.setMaxListeners(100);
  }

  /** Number of loaded documents. */
  get size(): number {
    return this.rooms.size;
  }

  peek(roomId: string): RoomDocument | undefined {
    const room = this.rooms.get(roomId);
    return room && !room.destroyed ? room : undefined;
  }

  async acquire(roomId: string): Promise<RoomDocument> {
    return this.claim(roomId, (room) => {
      room.pins++;
    });
  }

  release(roomId: string): void {
    const room = this.rooms.get(roomId);
    if (!room || room.pins === 0) return;
    room.pins--;
    this.maybeUnload(room);
  }

  /** A websocket connection joins the room (loading it if needed). */
  async attach(roomId: string, peer: Peer): Promise<RoomDocument> {
    return this.claim(roomId, (room) => room.addPeer(peer));
  }

  detach(room: RoomDocument, peer: Peer): void {
    if (!room.connections.has(peer)) return;
    room.removePeer(peer);
    if (room.connectionCount === 0) this.emit('empty', room);
    this.maybeUnload(room);
  }

  async restore(roomId: string, state: Uint8Array): Promise<void> {
    const room = await this.acquire(roomId);
    try {
      room.restore(state);
      await room.log.flush();
    } catch (err) {
      if (err instanceof DocumentPoisonedError) this.reset(room, err);
      throw err;
    } finally {
      this.release(roomId);
    }
  }

  /**
   * Applying something to the room's document threw inside Yjs, so the in-memory document can no
   * longer be trusted (it may be half-changed, and Yjs may never emit an update again). Nothing of
   * the failed change was published; everything before it was broadcast and is in the update
   * log. So: write that log out, drop the document (extensions see `unloaded`), and close every
   * connection with 4509 so their clients reconnect and resync against the reloaded document —
   * which has everything they had sent. A new claim waits until the log is written.
   */
  reset(room: RoomDocument, cause: unknown): void {
    if (room.destroyed || this.resets.has(room.roomId)) return;
    room.poisoned = true;
    this.options.metrics.roomResets.inc();
    this.options.logger.error({ err: (cause as Error)?.message, roomId: room.roomId, connections: room.connectionCount }, 'room document reset: reloading from storage');
    room.log.freezeCompaction();
    if (this.rooms.get(room.roomId) === room) this.rooms.delete(room.roomId);
    for (const peer of [...room.connections]) peer.close(CLOSE_CODES.resync, 'room reloaded');
    const written = (async () => {
      try {
        while (room.log.busy) await room.log.flush();
      } catch (err) {
        this.options.logger.error({ err, roomId: room.roomId }, 'writing the log of a reset room failed');
      }
      this.unloadNow(room);
    })().finally(() => this.resets.delete(room.roomId));
    this.resets.set(room.roomId, { room, written });
  }

  on<E extends keyof DocumentEvents>(event: E, listener: DocumentEvents[E]): void {
    this.events.on(event, listener);
  }

  off<E extends keyof DocumentEvents>(event: E, listener: DocumentEvents[E]): void {
    this.events.off(event, listener);
  }

  /** Resolves when no unload is in progress (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.unloads.size > 0) await Promise.allSettled([...this.unloads]);
  }

  /**
   * Shutdown: flush every loaded document, retrying a failing store until `giveUp` aborts (the
   * grace period; a store call that hangs does not hold shutdown past it either), and unload it.
   * Resolves with the updates of the rooms that did not reach the store, for the caller to save.
   */
  async closeAll(giveUp: AbortSignal): Promise<UnflushedRoom[]> {
    this.closing = true;
    const gaveUp = new Promise<void>((resolve) => {
      if (giveUp.aborted) resolve();
      else giveUp.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([Promise.allSettled([...this.loading.values()]), gaveUp]);
    const unflushed: UnflushedRoom[] = [];
    const rooms = [...this.rooms.values(), ...[...this.resets.values()].map((r) => r.room)];
    await Promise.all(
      rooms.map(async (room) => {
        room.log.stop(giveUp);
        const flushed = room.log.flush().catch((err: unknown) => {
          this.options.logger.error({ err, roomId: room.roomId }, 'gave up flushing document at shutdown');
        });
        await Promise.race([flushed, gaveUp]);
        const updates = room.log.unflushed();
        if (updates.length > 0) unflushed.push({ roomId: room.roomId, updates });
        this.unloadNow(room);
      }),
    );
    await Promise.race([this.settled(), gaveUp]);
    return unflushed;
  }

  private async claim(roomId: string, take: (room: RoomDocument) => void): Promise<RoomDocument> {
    for (;;) {
      if (this.closing) throw new Error('server is shutting down');
      const loaded = this.rooms.get(roomId);
      if (loaded && !loaded.destroyed) {
        take(loaded);
        return loaded;
      }
      const room = await this.load(roomId);
      if (!room.destroyed) {
        take(room);
        return room;
      }
    }
  }

  private load(roomId: string): Promise<RoomDocument> {
    let pending = this.loading.get(roomId);
    if (!pending) {
      pending = this.doLoad(roomId).finally(() => this.loading.delete(roomId));
      this.loading.set(roomId, pending);
    }
    return pending;
  }

  private async doLoad(roomId: string): Promise<RoomDocument> {
    const { log, logger, metrics } = this.options;
    await this.resets.get(roomId)?.written;
    let loaded: LoadedDocument;
    let channel: RoomChannel | null = null;
    try {
      // Opened before storage is read: what other processes publish meanwhile is delivered after.
      channel = (await this.options.bus?.open(roomId)) ?? null;
      loaded = await loadStoredDocument(log, roomId, { origin: ORIGINS.load });
    } catch (err) {
      channel?.close();
      logger.error({ err, roomId }, 'loading document failed');
      throw new DocumentLoadError(roomId, err);
    }
    const { doc, lastSeq, tail } = loaded;
    const room = new RoomDocument(
      roomId,
      doc,
      (_update, origin) => {
        metrics.updates.inc({ source: updateSource(origin) });
      },
      this.options.pending,
    );
    room.attachLog(
      new UpdateLog(roomId, doc, log, {
        flushMs: this.options.flushMs,
        compactEvery: this.options.compactEvery,
        logger,
        onRetry: (op) => metrics.storeRetries.inc({ op }),
        ...(channel ? { shared: channel } : {}),
      }, lastSeq, tail),
    );
    if (channel) this.connectChannel(room, channel);
    this.rooms.set(roomId, room);
    metrics.roomsLoaded.set(this.rooms.size);
    this.emit('loaded', room);
    return room;
  }

  /** The room takes what other processes accept, and publishes what this one does. */
  private connectChannel(room: RoomDocument, channel: RoomChannel): void {
    room.attachChannel(channel);
    channel.start({
      update: (update) => {
        if (room.destroyed || room.poisoned) return;
        try {
          room.applyRemoteUpdate(update);
        } catch (err) {
          if (!(err instanceof DocumentPoisonedError)) throw err;
          this.reset(room, err);
        }
      },
      awareness: (update) => {
        if (!room.destroyed) room.applyRemoteAwareness(update);
      },
      // Updates of other processes never reached this document: reload it (they are stored).
      lost: () => this.reset(room, new Error('the room stream was trimmed past what this process had read')),
      resync: (store) => {
        if (room.destroyed || room.poisoned) return;
        room.resyncShared(store);
        this.maybeUnload(room); // it may have stayed loaded only for this
      },
    });
  }

  private maybeUnload(room: RoomDocument): void {
    if (room.refs > 0 || room.unloading || room.destroyed || this.closing || room.awaitingResync) return;
    room.unloading = true;
    const run = (async () => {
      try {
        // Retries until the store accepts the updates: the document stays loaded meanwhile.
        while (room.log.busy) await room.log.flush();
      } catch (err) {
        this.options.logger.error({ err, roomId: room.roomId }, 'flush before unload failed; document stays loaded');
        room.unloading = false;
        return;
      }
      room.unloading = false;
      if (room.refs > 0 || room.destroyed) return;
      this.unloadNow(room);
    })();
    this.unloads.add(run);
    void run.finally(() => this.unloads.delete(run));
  }

  private unloadNow(room: RoomDocument): void {
    if (room.destroyed) return;
    const current = this.rooms.get(room.roomId);
    if (current === room) this.rooms.delete(room.roomId);
    else if (current !== undefined) {
      // A reset room unloads after its replacement loaded: don't announce the replacement gone.
      room.destroy();
      return;
    }
    room.destroy();
    this.options.metrics.roomsLoaded.set(this.rooms.size);
    this.emit('unloaded', room.roomId);
  }

  private emit(event: keyof DocumentEvents, arg: RoomDocument | string): void {
    try {
      this.events.emit(event, arg);
    } catch (err) {
      this.options.logger.error({ err, event }, 'document event listener threw');
    }
  }
}
