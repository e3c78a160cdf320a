import type { WebSocket } from 'ws';
import { CLOSE_CODES, type TokenClaims } from '@ensemble/shared';
import { AwarenessGuard, type AwarenessLimits } from './awareness-guard';
import type { KeyedBudget } from '../limits/keyed-budget';
import type { TransactionOrigin } from '../ports';
import type { Peer, RoomDocument } from './room-document';

const OPEN = 1;
/** How long a refused connection's close frame has to reach the peer before its socket is destroyed. */
const REFUSE_GRACE_MS = 250;
/** Resync requests one connection gets before it is closed. */
const MAX_RESYNC_REQUESTS = 3;
/** Frames (and bytes) a client may send before its room has loaded; more is abuse. */
const MAX_QUEUED = 1000;
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export interface ConnectionOptions {
  awareness?: AwarenessLimits;
  /** Bytes waiting to be sent beyond which the client is dropped as not reading. */
  maxBufferedBytes?: number;
  /** Called once when the connection is dropped for that (for metrics). */
  onSlowConsumer?: (conn: Connection) => void;
  /** Bytes per second its member may send (shared by the member's connections). */
  inbound?: KeyedBudget;
  /** Called when the connection is refused (closed for breaking the rules). */
  onRefused?: () => void;
  /** Called when reading pauses because the member's inbound budget is spent (for metrics). */
  onThrottled?: (conn: Connection, ms: number) => void;
}

/** One websocket sync connection: a member of one room, with the claims of its token. */
export class Connection implements Peer {
  readonly origin: TransactionOrigin = { source: 'connection', connection: this };
  readonly awarenessIds = new Set<number>();
  readonly awarenessGuard: AwarenessGuard;
  room: RoomDocument | null = null;
  /** Frames received while the room was loading, or while an earlier frame is still being handled. */
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  /** Size of the one oversized frame being written, which the send-buffer limit lets through. */
  private exemptBytes = 0;
  closed = false;
  alive = true;
  /** Times this connection was asked to resync because its updates depended on unknown structs. */
  resyncRequests = 0;
  private resumeTimer: NodeJS.Timeout | null = null;
  private holding = false;

  constructor(
    readonly socket: WebSocket,
    readonly roomId: string,
    readonly claims: TokenClaims,
    private readonly onMessage: (conn: Connection, message: Uint8Array) => void | Promise<void>,
    private readonly options: ConnectionOptions = {},
  ) {
    this.awarenessGuard = new AwarenessGuard(claims, options.awareness);
  }

  get memberId(): string {
    return this.claims.memberId;
  }

  get canWrite(): boolean {
    return this.claims.role !== 'viewer';
  }

  /**
   * Queues a frame, unless more than maxBufferedBytes already wait to be sent: the client is not
   * reading (or cannot keep up), and queueing more would grow the heap without bound. It is then
   * terminated: a close frame would only queue behind the rest. One frame bigger than the limit
   * (a large document's sync step 2) is not counted while it is being written, so a slow client
   * may still join a large room; a second one is counted.
   */
  send(message: Uint8Array): void {
    if (this.closed || this.socket.readyState !== OPEN) return;
    const limit = this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    if (this.socket.bufferedAmount - this.exemptBytes > limit) {
      this.closed = true;
      this.queue = [];
      this.options.onSlowConsumer?.(this);
      this.socket.terminate();
      return;
    }
    const exempt = this.exemptBytes === 0 && message.byteLength > limit;
    if (exempt) this.exemptBytes = message.byteLength;
    this.socket.send(message, (err) => {
      if (exempt) this.exemptBytes = 0;
      if (err) this.close(1011, 'send failed');
    });
  }

  /**
   * Its updates depend on structs the server does not have: a sync step 1 makes a y-websocket
   * client send everything the server lacks. A connection that keeps needing it is closed.
   */
  requestResync(syncStep1: Uint8Array): void {
    if (++this.resyncRequests > MAX_RESYNC_REQUESTS) this.refuse(CLOSE_CODES.resync, 'updates depend on data the server does not have');
    else this.send(syncStep1);
  }

  receive(message: Uint8Array): void {
    if (this.closed) return;
    const wait = this.options.inbound?.charge(this.memberId, message.byteLength) ?? 0;
    if (wait > 0) this.throttle(wait);
    if (this.room === null || this.holding) {
      this.queuedBytes += message.byteLength;
      if (this.queue.length >= MAX_QUEUED || this.queuedBytes > MAX_QUEUED_BYTES) this.refuse(1008, 'too many messages before sync');
      else this.queue.push(message);
      return;
    }
    this.process(message);
  }

  /** Stops reading the socket for `ms` (a frame at hand is still processed). */
  throttle(ms: number): void {
    if (this.resumeTimer !== null) return;
    this.socket.pause();
    this.options.onThrottled?.(this, ms);
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = null;
      if (!this.closed) this.socket.resume();
    }, ms);
    this.resumeTimer.unref();
  }

  /** The room is loaded: process what arrived meanwhile. */
  ready(room: RoomDocument): void {
    this.room = room;
    this.drainQueue();
  }

  /** A frame whose handling is asynchronous (a large update being decoded) holds the ones after it. */
  private process(message: Uint8Array): void {
    const handled = this.onMessage(this, message);
    if (!(handled instanceof Promise)) return;
    this.holding = true;
    void handled.finally(() => {
      this.holding = false;
      this.drainQueue();
    });
  }

  private drainQueue(): void {
    while (this.queue.length > 0 && !this.holding && !this.closed) {
      const message = this.queue.shift()!;
      this.queuedBytes -= message.byteLength;
      this.process(message);
    }
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    if (this.resumeTimer !== null) {
      // The closing handshake needs the peer's close frame to be read.
      clearTimeout(this.resumeTimer);
      this.resumeTimer = null;
      this.socket.resume();
    }
    try {
      this.socket.close(code, reason);
    } catch {
      this.socket.terminate();
    }
  }

  /**
   * Closes a connection that broke the rules. A graceful close would read (and unmask) everything
   * the peer still has queued until its close frame arrives — megabytes, from a flooder. So the
   * socket is no longer read: the close frame with `code` is sent, our side of the TCP stream is
   * ended right behind it (the peer sees the code at once), and the socket is destroyed shortly
   * after without waiting for the peer's reply.
   */
  refuse(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    if (this.resumeTimer !== null) clearTimeout(this.resumeTimer);
    this.resumeTimer = null;
    this.socket.pause();
    try {
      this.socket.close(code, reason);
      // ws keeps the TCP stream in a field it does not type; ending it is the one way to stop
      // reading now and still let the close frame out.
      (this.socket as unknown as { _socket?: import('node:net').Socket })._socket?.end();
    } catch {
      /* terminated below */
    }
    setTimeout(() => this.socket.terminate(), REFUSE_GRACE_MS).unref();
    this.options.onRefused?.();
  }
}
