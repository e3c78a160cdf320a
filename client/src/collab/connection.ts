import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { io, type Socket } from 'socket.io-client';
import {
  COLLAB_NAMESPACE,
  SYNC_PATH,
  type Ack,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '@ensemble/shared';
import type { Session } from '../lib/session';
import { wsOrigin } from '../lib/session';
import { describeCloseCode, type ConnectionState } from '../lib/format';

export type CollabSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ConnectionSnapshot {
  sync: ConnectionState;
  synced: boolean;
  /** Local edits made while not connected, not yet confirmed synced. */
  pendingLocalEdits: boolean;
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
  private snapshot: ConnectionSnapshot = {
    sync: 'connecting',
    synced: false,
    pendingLocalEdits: false,
    closedReason: null,
    socket: 'connecting',
    socketError: null,
  };
  private listeners = new Set<Listener>();

  constructor(readonly session: Session, location: { protocol: string; host: string } = window.location) {
    this.provider = new WebsocketProvider(`${wsOrigin(location)}${SYNC_PATH}`, session.room.id, this.doc, {
      params: { token: session.token },
      maxBackoffTime: 5000,
    });
    this.provider.on('status', ({ status }) => {
      this.set({ sync: this.snapshot.closedReason ? 'refused' : status });
    });
    this.provider.on('sync', (synced) => {
      this.set(synced ? { synced: true, pendingLocalEdits: false } : { synced: false });
    });
    this.provider.on('closed', ({ code, reason }) => {
      this.set({ sync: 'refused', synced: false, closedReason: describeCloseCode(code, reason) });
    });
    this.doc.on('update', (_update: Uint8Array, origin: unknown) => {
      if (origin !== this.provider && !(this.snapshot.sync === 'connected' && this.snapshot.synced)) {
        this.set({ pendingLocalEdits: true });
      }
    });

    this.socket = io(COLLAB_NAMESPACE, { auth: { token: session.token }, reconnectionDelayMax: 5000 }) as CollabSocket;
    this.socket.on('connect', () => this.set({ socket: 'connected', socketError: null }));
    this.socket.on('disconnect', () => this.set({ socket: 'disconnected' }));
    // Removed from the room or token expired: the server will refuse this token from now on.
    this.socket.on('collab:closed', ({ code, reason }) => {
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
    if (!this.socket.connected) {
      return Promise.resolve({ ok: false, error: { code: 'internal', message: 'Not connected to the AI channel yet — try again in a moment' } });
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ ok: false, error: { code: 'internal', message: 'The server did not answer in time' } }), timeoutMs);
      const emit = this.socket.emit as unknown as (ev: string, arg: unknown, ack: (res: Ack<T>) => void) => void;
      emit.call(this.socket, event, payload, (res) => {
        clearTimeout(timer);
        resolve(res ?? { ok: false, error: { code: 'internal', message: 'Empty answer from the server' } });
      });
    });
  }

  destroy(): void {
    this.socket.disconnect();
    this.provider.destroy();
    this.doc.destroy();
    this.listeners.clear();
  }
}
