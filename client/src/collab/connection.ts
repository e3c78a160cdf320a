import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { io, type Socket } from 'socket.io-client';
import {
  COLLAB_NAMESPACE,
  SYNC_PATH,
  type Ack,
  type ErrorCode,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '@ensemble/shared';
import type { Session } from '../lib/session';
import { wsOrigin } from '../lib/session';
import { describeCloseCode, type ConnectionState } from '../lib/format';
import { AllowanceStore } from './allowance';
import { SyncLiveness } from './liveness';

export type CollabSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ConnectionSnapshot {
  sync: ConnectionState;
  synced: boolean;
  /** Local edits the server has not confirmed yet (made offline, or sent and not yet answered). */
  pendingLocalEdits: boolean;
  /** The browser says there is no network. */
  browserOffline: boolean;
  /** Why the server closed the sync connection for good, in words. */
  closedReason: string | null;
  socket: 'connected' | 'connecting' | 'disconnected';
  socketError: string | null;
}

type Listener = () => void;

/** The room's live connections: Y.Doc over y-websocket, and the AI channel over socket.io. */
export class RoomConnection {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  readonly socket: CollabSocket;
  /** What this member may still ask the AI (`ai:allowance`). */
  readonly allowance: AllowanceStore;
  private snapshot: ConnectionSnapshot = {
    sync: 'connecting',
    synced: false,
    pendingLocalEdits: false,
    browserOffline: false,
    closedReason: null,
    socket: 'connecting',
    socketError: null,
  };
  private listeners = new Set<Listener>();
  private readonly liveness: SyncLiveness;
  /** The server closed `/collab` for good (removed, token expired): do not reconnect. */
  private collabClosed = false;

  constructor(readonly session: Session, location: { protocol: string; host: string } = window.location) {
    this.provider = new WebsocketProvider(`${wsOrigin(location)}${SYNC_PATH}`, session.room.id, this.doc, {
      params: { token: session.token },
      maxBackoffTime: 5000,
    });
    this.provider.on('status', ({ status }) => {
      this.set({ sync: this.snapshot.closedReason ? 'refused' : this.snapshot.browserOffline ? 'disconnected' : status });
    });
    this.provider.on('sync', (synced) => this.set({ synced }));
    this.provider.on('closed', ({ code, reason }) => {
      this.set({ sync: 'refused', synced: false, closedReason: describeCloseCode(code, reason) });
    });
    this.liveness = new SyncLiveness(
      this.provider,
      this.doc,
      (l) => this.onLiveness(l.browserOffline, l.unconfirmed),
      () => !this.snapshot.closedReason,
      // socket.io's own heartbeat takes up to 45 s; closing the transport makes it reconnect now.
      () => this.socket.io.engine?.close(),
    );

    this.snapshot = { ...this.snapshot, browserOffline: this.liveness.get().browserOffline };
    this.socket = io(COLLAB_NAMESPACE, { auth: { token: session.token }, reconnectionDelayMax: 5000 }) as CollabSocket;
    this.allowance = new AllowanceStore(this.socket);
    this.socket.on('connect', () => this.set({ socket: 'connected', socketError: null }));
    this.socket.on('disconnect', (reason) => {
      this.set({ socket: 'disconnected' });
      // A server shutting down disconnects every socket ("io server disconnect"), which socket.io
      // never retries by itself; retry unless the server closed this session for good.
      if (reason === 'io server disconnect' && !this.collabClosed) this.reconnectSocketSoon();
    });
    // Removed from the room or token expired: the server will refuse this token from now on.
    this.socket.on('collab:closed', ({ code, reason }) => {
      this.collabClosed = true;
      this.socket.io.reconnection(false);
      this.set({ socket: 'disconnected', closedReason: this.snapshot.closedReason ?? describeCloseCode(code, reason) });
    });
    this.socket.on('connect_error', (err: Error) => {
      const message = /unauthori|token|forbidden/i.test(err.message)
        ? 'The AI channel refused this session. Join the room again.'
        : 'The AI channel cannot reach the server; retrying…';
      this.set({ socket: this.socket.active ? 'connecting' : 'disconnected', socketError: message });
    });
  }

  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;

  private reconnectSocketSoon(delayMs = 250): void {
    if (this.reconnectTimer) return;
    this.set({ socket: 'connecting' });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.collabClosed || this.socket.connected || this.snapshot.browserOffline) return;
      // The token travels in `auth` on every handshake, so the reconnect is authenticated again.
      this.socket.auth = { token: this.session.token };
      this.socket.connect();
    }, delayMs);
  }

  private onLiveness(browserOffline: boolean, unconfirmed: boolean): void {
    const wentOffline = browserOffline && !this.snapshot.browserOffline;
    const cameBack = !browserOffline && this.snapshot.browserOffline;
    const sync = this.snapshot.closedReason ? 'refused' : browserOffline ? 'disconnected' : cameBack ? 'connecting' : this.snapshot.sync;
    this.set({ browserOffline, pendingLocalEdits: unconfirmed, sync });
    if (wentOffline) this.socket.disconnect();
    if (cameBack && !this.collabClosed) this.reconnectSocketSoon(0);
  }

  getSnapshot = (): ConnectionSnapshot => this.snapshot;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private set(patch: Partial<ConnectionSnapshot>): void {
    const next = { ...this.snapshot, ...patch };
    if ((Object.keys(patch) as Array<keyof ConnectionSnapshot>).every((k) => next[k] === this.snapshot[k])) return;
    this.snapshot = next;
    for (const l of this.listeners) l();
  }

  /** Sends a collab event and waits for its ack; a timeout or no connection becomes an error ack. */
  call<T = Record<string, never>, E extends keyof ClientToServerEvents = keyof ClientToServerEvents>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
    timeoutMs = 15000,
  ): Promise<Ack<T>> {
    // Client-side codes (describeAckError words them): the line is down, or the channel is coming back.
    const offline = () => this.snapshot.browserOffline || this.snapshot.sync === 'disconnected';
    const offlineError = { code: 'offline' as ErrorCode, message: '' };
    if (!this.socket.connected) {
      const error = offline() ? offlineError : { code: 'disconnected' as ErrorCode, message: 'reconnecting — try again in a moment' };
      return Promise.resolve({ ok: false, error });
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ ok: false, error: offline() ? offlineError : { code: 'timeout' as ErrorCode, message: '' } }), timeoutMs);
      const emit = this.socket.emit as unknown as (ev: string, arg: unknown, ack: (res: Ack<T>) => void) => void;
      emit.call(this.socket, event, payload, (res) => {
        clearTimeout(timer);
        resolve(res ?? { ok: false, error: { code: 'internal', message: 'Empty answer from the server' } });
      });
    });
  }

  destroy(): void {
    this.collabClosed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.liveness.destroy();
    this.socket.disconnect();
    this.provider.destroy();
    this.doc.destroy();
    this.listeners.clear();
  }
}
