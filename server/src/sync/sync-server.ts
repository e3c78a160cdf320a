import { STATUS_CODES, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import { CLOSE_CODES, parseDocName, SYNC_PATH, type TokenClaims } from '@ensemble/shared';
import type { TokenService } from '../ports';
import type { Metrics } from '../metrics';
import type { RoomStore } from '../storage/store';
import { AuthError } from '../errors';
import type { AwarenessLimits } from './awareness-guard';
import { currentMember } from '../auth/current-member';
import { draftAccess } from '../auth/draft-access';
import { whenExpired } from '../auth/expiry-timer';
import type { SocketLimiter } from '../auth/socket-limiter';
import { Connection } from './connection';
import type { DocumentRegistry } from './document-registry';
import { KeyedBudget } from '../limits/keyed-budget';
import { MessageHandler } from './message-handler';
import { UpdateDecoder } from './update-decoder';
import { DocumentPoisonedError, type RoomDocument } from './room-document';
import type { UpdateLimits } from './update-guard';
import { ProtocolError, encodeAwareness, encodeSyncStep1 } from './protocol';

export interface SyncServerOptions {
  registry: DocumentRegistry;
  tokens: TokenService;
  rooms: Pick<RoomStore, 'getRoom' | 'getMember'>;
  logger: Logger;
  metrics: Metrics;
  maxMessageBytes: number;
  updateLimits: UpdateLimits;
  /** New connections per member per second (bursts of ten times that). */
  connectsPerSec: number;
  /** Bytes per second (and burst) one member may send, across its connections. */
  inbound: { bytesPerSec: number; burstBytes: number };
  /** Per-connection awareness limits (default DEFAULT_AWARENESS_LIMITS). */
  awareness?: AwarenessLimits;
  /** Bytes waiting to be sent to a client beyond which it is terminated (default 4 MiB). */
  maxBufferedBytes?: number;
  /** Concurrent sockets per member and per address; over the cap the upgrade gets 429. */
  sockets: SocketLimiter;
  /** Ping interval; a client that misses one pong is dropped (default 30 s). */
  pingIntervalMs?: number;
}

/** The ping round is spread over this many ticks, so thousands of sockets never stall one task. */
const PING_SLICES = 10;

class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Answers an upgrade request with a plain HTTP error, before any websocket exists. */
function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code: STATUS_CODES[status]?.toLowerCase().replace(/\s+/g, '_') ?? 'error', message } });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * The y-websocket endpoint `ws://HOST:PORT/sync/<roomId>?token=<token>` on the shared HTTP server
 * (`noServer` upgrade handling). The token is verified before the upgrade completes: malformed
 * room id → 400, missing/forged/expired token → 401, token for another room → 403, unknown room
 * → 404, removed member → 403, too many sockets for the member or address → 429. A socket is
 * closed with 4410 when its member is removed and 4440 when its token expires. Frames larger than
 * ENSEMBLE_MAX_MESSAGE_BYTES close the socket with 1009, undecodable ones with 4400, refused
 * updates with 4422; a document that cannot be loaded closes its clients with 4500. Awareness
 * abuse (see AwarenessGuard) closes with 4429; a client that stops reading is terminated.
 * `/sync/<roomId>/draft/<memberId>` is a student's draft (assignment mode), checked the same way
 * and then by draftAccess: a refusal opens the websocket only to close it with 4403.
 */
export class SyncServer {
  private readonly wss: WebSocketServer;
  private readonly handler: MessageHandler;
  private readonly inbound: KeyedBudget;
  private readonly decoder = new UpdateDecoder();
  /** Websocket upgrades per member: a burst (tabs, reloads, reconnects), then a steady rate. */
  private readonly upgrades: KeyedBudget;
  private readonly connections = new Set<Connection>();
  private readonly pending = new Set<Duplex>();
  private readonly pingTimer: NodeJS.Timeout;
  /** Connections of the current ping round not pinged yet, and the round's size. */
  private pingRound: Connection[] = [];
  private pingRoundSize = 0;
  private closed = false;

  constructor(private readonly options: SyncServerOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes, perMessageDeflate: false, clientTracking: false });
    this.handler = new MessageHandler(options.metrics, options.updateLimits, this.decoder);
    this.inbound = new KeyedBudget(options.inbound.bytesPerSec, options.inbound.burstBytes);
    this.upgrades = new KeyedBudget(options.connectsPerSec, options.connectsPerSec * 10);
    this.pingTimer = setInterval(() => this.ping(), (options.pingIntervalMs ?? 30_000) / PING_SLICES);
    this.pingTimer.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  attach(httpServer: HttpServer): void {
    httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!this.handleUpgrade(req, socket, head) && httpServer.listenerCount('upgrade') <= 1) {
        refuseUpgrade(socket, 404, 'no websocket endpoint here');
      }
    });
  }

  /** Returns false when the request is not for SYNC_PATH (another upgrade handler may take it). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== SYNC_PATH && !url.pathname.startsWith(`${SYNC_PATH}/`)) return false;
    socket.on('error', () => socket.destroy());
    if (this.closed) {
      refuseUpgrade(socket, 503, 'server is shutting down');
      return true;
    }
    this.pending.add(socket);
    this.authorize(url)
      .then(({ roomId, docName, claims, expiresAt, draftRefused }) => {
        this.pending.delete(socket);
        if (socket.destroyed || this.closed) {
          socket.destroy();
          return;
        }
        if (draftRefused) {
          this.wss.handleUpgrade(req, socket, head, (ws) => ws.close(CLOSE_CODES.draftForbidden, draftRefused));
          return;
        }
        const taken = this.options.sockets.acquire(`${roomId}:${claims.memberId}`, req.socket.remoteAddress ?? 'unknown');
        if ('refused' in taken) throw new UpgradeRefused(429, taken.refused);
        // The raw socket closes however the upgrade or the websocket ends: the one place to give the slot back.
        socket.once('close', taken.slot);
        this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, roomId, docName, claims, expiresAt, taken.slot));
      })
      .catch((err: unknown) => {
        this.pending.delete(socket);
        const status = err instanceof UpgradeRefused ? err.status : 500;
        if (status === 500) this.options.logger.error({ err }, 'sync upgrade failed');
        refuseUpgrade(socket, status, err instanceof UpgradeRefused ? err.message : 'internal error');
      });
    return true;
  }

  /**
   * Who is connecting to which document: the room's own (`/sync/<roomId>`) or a student's draft
   * (`/sync/<roomId>/draft/<memberId>`, see draftAccess; a refusal there is `draftRefused`).
   */
  private async authorize(url: URL): Promise<{ roomId: string; docName: string; claims: TokenClaims; expiresAt: number; draftRefused?: string }> {
    let docName = '';
    try {
      docName = decodeURIComponent(url.pathname.slice(SYNC_PATH.length + 1));
    } catch {
      /* falls through to the 400 below */
    }
    const parsed = parseDocName(docName);
    if (!parsed) throw new UpgradeRefused(400, 'malformed room id');
    const { roomId, draftOf } = parsed;
    const token = url.searchParams.get('token');
    if (!token) throw new UpgradeRefused(401, 'token required');
    let claims: TokenClaims;
    try {
      claims = await this.options.tokens.verify(token);
    } catch (err) {
      throw new UpgradeRefused(401, err instanceof AuthError && err.code === 'expired_token' ? 'token expired' : 'token invalid');
    }
    if (claims.roomId !== roomId) throw new UpgradeRefused(403, 'token is for another room');
    // Reconnecting must not buy a fresh inbound budget, nor cost the store a lookup each time.
    if (this.upgrades.charge(claims.memberId, 1) > 0) throw new UpgradeRefused(429, 'reconnecting too often; retry in a moment');
    let exists: boolean;
    try {
      exists = this.options.registry.peek(roomId) !== undefined || (await this.options.rooms.getRoom(roomId)) !== null;
    } catch (err) {
      this.options.logger.error({ err, roomId }, 'room lookup failed');
      throw new UpgradeRefused(503, 'storage unavailable');
    }
    if (!exists) throw new UpgradeRefused(404, 'room not found');
    let member: TokenClaims | null;
    try {
      member = await currentMember(this.options.rooms, claims);
    } catch (err) {
      this.options.logger.error({ err, roomId }, 'member lookup failed');
      throw new UpgradeRefused(503, 'storage unavailable');
    }
    if (!member) throw new UpgradeRefused(403, 'not a member of this room');
    const expiresAt = this.options.tokens.expiresAt(token);
    if (draftOf === null) return { roomId, docName, claims: member, expiresAt };
    let refusal: Awaited<ReturnType<typeof draftAccess>>;
    try {
      refusal = await draftAccess(this.options.rooms, member, draftOf);
    } catch (err) {
      this.options.logger.error({ err, roomId }, 'draft access lookup failed');
      throw new UpgradeRefused(503, 'storage unavailable');
    }
    return { roomId, docName, claims: member, expiresAt, ...(refusal ? { draftRefused: refusal.refused } : {}) };
  }

  /**
   * A removal between the upgrade's member check and `connections.add` would miss this socket:
   * look once more now that `closeMember` can see it.
   */
  private recheckMember(conn: Connection): void {
    currentMember(this.options.rooms, conn.claims).then(
      (member) => {
        if (!member) conn.close(CLOSE_CODES.memberRemoved, 'removed from the room by its owner');
      },
      () => undefined, // storage hiccup: the upgrade's check stands
    );
  }

  /** Closes the students' connections to their drafts in the room (assignment mode was switched off). */
  closeStudentDrafts(roomId: string): void {
    for (const conn of this.connections) {
      const drafted = conn.room !== null && conn.room.roomId !== roomId;
      if (conn.roomId === roomId && drafted && conn.claims.role !== 'owner') conn.close(CLOSE_CODES.draftForbidden, 'assignment mode is off in this room');
    }
  }

  /** Closes every open connection of the member (removed from the room). */
  closeMember(roomId: string, memberId: string, code: number, reason: string): void {
    for (const conn of this.connections) {
      if (conn.roomId === roomId && conn.memberId === memberId) conn.close(code, reason);
    }
  }

  /** `roomId` is the room (removals, logs); `docName` the document it syncs (the room's, or a draft). */
  private onConnection(ws: WebSocket, roomId: string, docName: string, claims: TokenClaims, expiresAt: number, slot: () => void): void {
    const { registry, logger, metrics } = this.options;
    ws.binaryType = 'nodebuffer';
    const conn = new Connection(ws, roomId, claims, (c, message) => this.dispatch(c, message), {
      awareness: this.options.awareness,
      maxBufferedBytes: this.options.maxBufferedBytes,
      inbound: this.inbound,
      // A refused socket is still being torn down, but no longer counts against the member's cap.
      onRefused: slot,
      onThrottled: () => metrics.inboundThrottles.inc(),
      onSlowConsumer: () => {
        metrics.disconnects.inc({ reason: 'slow_consumer' });
        logger.debug({ roomId, memberId: claims.memberId }, 'terminating connection: not reading');
      },
    });
    this.connections.add(conn);
    metrics.connections.inc();
    // A member still in debt with its inbound budget (it just flooded another connection) is not read yet.
    const owed = this.inbound.waitMs(claims.memberId);
    if (owed > 0) conn.throttle(owed);
    const cancelExpiry = whenExpired(expiresAt, () => conn.close(CLOSE_CODES.tokenExpired, 'token expired'));
    this.recheckMember(conn);

    ws.on('message', (data: RawData) => conn.receive(toBytes(data)));
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes the socket itself (1009 for WS_ERR_UNSUPPORTED_MESSAGE_LENGTH, 1002 for protocol errors).
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') metrics.rejectedMessages.inc({ reason: 'too_big' });
      logger.debug({ err: err.message, roomId }, 'websocket error');
      conn.closed = true;
    });
    ws.on('close', () => {
      cancelExpiry();
      conn.closed = true;
      this.connections.delete(conn);
      metrics.connections.dec();
      if (conn.room) registry.detach(conn.room, conn);
    });

    registry.attach(docName, conn).then(
      (room) => {
        if (conn.closed) {
          registry.detach(room, conn);
          return;
        }
        conn.send(encodeSyncStep1(room.doc));
        const states = [...room.awareness.getStates().keys()];
        if (states.length > 0) conn.send(encodeAwareness(room.awareness, states));
        conn.ready(room);
      },
      (err: unknown) => {
        logger.warn({ err: (err as Error).message, roomId }, 'closing connection: document not loaded');
        conn.close(CLOSE_CODES.loadFailed, 'document could not be loaded');
      },
    );
  }

  private dispatch(conn: Connection, message: Uint8Array): void | Promise<void> {
    const room = conn.room;
    if (!room || conn.closed || room.poisoned) return;
    let handled: void | Promise<void>;
    try {
      handled = this.handler.handle(conn, room, message);
    } catch (err) {
      this.closeOnError(conn, room, err);
      return;
    }
    if (handled instanceof Promise) return handled.catch((err: unknown) => this.closeOnError(conn, room, err));
  }

  /** A frame the handler refused, or an update (this frame's, or one it let through) that broke the document. */
  private closeOnError(conn: Connection, room: RoomDocument, err: unknown): void {
    if (err instanceof DocumentPoisonedError) {
      // Yjs threw applying someone's update (possibly a parked one this frame unblocked): close
      // whoever sent it, reload the room.
      const offender = err.offender ?? conn;
      this.options.logger.error({ err: err.message, roomId: conn.roomId, memberId: offender.memberId }, 'update broke the document; reloading the room');
      offender.refuse(CLOSE_CODES.updateRejected, 'update rejected');
      this.options.registry.reset(room, err);
      return;
    }
    const code = err instanceof ProtocolError ? err.closeCode : CLOSE_CODES.malformedMessage;
    if (code !== CLOSE_CODES.updateRejected) this.options.metrics.rejectedMessages.inc({ reason: 'malformed' });
    this.options.logger.debug({ err: (err as Error).message, roomId: conn.roomId, memberId: conn.claims.memberId }, 'closing connection: bad frame');
    conn.refuse(code, code === CLOSE_CODES.updateRejected ? 'update rejected' : 'malformed message');
  }

  /**
   * One slice of the ping round: every connection is pinged once per interval, and one that did
   * not answer the previous ping is dropped.
   */
  private ping(): void {
    if (this.pingRound.length === 0) {
      this.pingRound = [...this.connections];
      this.pingRoundSize = this.pingRound.length;
    }
    for (const conn of this.pingRound.splice(0, Math.ceil(this.pingRoundSize / PING_SLICES))) {
      if (!this.connections.has(conn)) continue;
      if (!conn.alive) {
        conn.socket.terminate();
        continue;
      }
      conn.alive = false;
      try {
        conn.socket.ping();
      } catch {
        conn.socket.terminate();
      }
    }
  }

  /** Closes every connection with 1001 (going away) and refuses new upgrades. */
  close(): void {
    this.closed = true;
    clearInterval(this.pingTimer);
    for (const socket of this.pending) socket.destroy();
    this.pending.clear();
    for (const conn of this.connections) conn.close(CLOSE_CODES.goingAway, 'server shutting down');
    void this.decoder.close();
  }

  /** Waits (bounded) until every socket has finished closing. */
  async drain(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const conn of this.connections) conn.socket.terminate();
  }
}
