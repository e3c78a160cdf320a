import { io, type Socket } from 'socket.io-client';
import { COLLAB_NAMESPACE, type ClientToServerEvents, type ServerToClientEvents } from '../../shared/src/index';

export type CollabSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Outcome of a /collab connection attempt: connected, or the server's connect error. */
export type CollabOutcome = { kind: 'open'; socket: CollabSocket } | { kind: 'refused'; message: string; code: string | undefined };

/**
 * A stock socket.io client on /collab (no reconnection, so a refusal is final). Websocket only
 * unless `transports` says otherwise (socket.io's own default is ['polling', 'websocket']).
 */
export function openCollab(baseUrl: string, token: string, options: { transports?: Array<'polling' | 'websocket'> } = {}): Promise<CollabOutcome> {
  const transports = options.transports ?? ['websocket'];
  const socket: CollabSocket = io(`${baseUrl}${COLLAB_NAMESPACE}`, { auth: { token }, transports, forceNew: true, reconnection: false });
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ kind: 'open', socket }));
    socket.once('connect_error', (err: Error & { data?: { code?: string } }) => {
      socket.close();
      resolve({ kind: 'refused', message: err.message, code: err.data?.code });
    });
  });
}

/** Emits with an acknowledgement and resolves with it. */
export function ack<R = { ok: boolean; error?: { code: string; message: string } }>(socket: CollabSocket, event: string, payload: unknown, timeoutMs = 10_000): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${event}`)), timeoutMs);
    (socket.emit as (ev: string, ...a: unknown[]) => void)(event, payload, (res: R) => {
      clearTimeout(timer);
      resolve(res);
    });
  });
}

/** Resolves with the `collab:closed` notice (if any) and the time the socket disconnected. */
export function collabClosed(socket: CollabSocket): Promise<{ notice: { code: number; reason: string } | null; at: number }> {
  let notice: { code: number; reason: string } | null = null;
  socket.on('collab:closed', (e) => (notice = e));
  return new Promise((resolve) => socket.once('disconnect', () => resolve({ notice, at: Date.now() })));
}
