import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { WebSocket } from '../../server/src/sync/ws';
import { waitFor } from './wait';

export { WebSocket };

// Each y-websocket provider adds a process 'exit' listener in Node; tests open many.
process.setMaxListeners(Math.max(process.getMaxListeners(), 500));

export interface TestClient {
  doc: Y.Doc;
  provider: WebsocketProvider;
  /** Resolves once the first sync with the server completed. */
  synced: Promise<void>;
  destroy(): void;
}

/**
 * A stock y-websocket client (`new WebsocketProvider(syncUrl, roomId, doc, { params: { token } })`)
 * using `ws` in Node. BroadcastChannel is disabled so in-process clients only sync via the server.
 */
export function connectClient(
  syncUrl: string,
  roomId: string,
  token: string,
  options: { doc?: Y.Doc; connect?: boolean; maxBackoffTime?: number } = {},
): TestClient {
  const doc = options.doc ?? new Y.Doc();
  const provider = new WebsocketProvider(syncUrl, roomId, doc, {
    params: { token },
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    connect: options.connect ?? true,
    maxBackoffTime: options.maxBackoffTime ?? 500,
  });
  const synced = new Promise<void>((resolve) => {
    if (provider.synced) resolve();
    else provider.once('sync', (isSynced: boolean) => isSynced && resolve());
  });
  return {
    doc,
    provider,
    synced,
    destroy() {
      provider.destroy();
      doc.destroy();
    },
  };
}

/** Waits until every doc's `field` text (Y.Text by default) is identical; returns it. */
export async function waitConverged(docs: Y.Doc[], read: (doc: Y.Doc) => string, timeoutMs = 15_000): Promise<string> {
  let values: string[] = [];
  await waitFor(
    () => {
      values = docs.map(read);
      return values.every((v) => v === values[0]);
    },
    { timeoutMs, message: 'documents did not converge' },
  );
  return values[0] ?? '';
}

/** Result of a raw websocket connection attempt to the sync endpoint. */
export type RawOutcome = { kind: 'open'; socket: WebSocket } | { kind: 'refused'; status: number; body: string };

/** Opens a raw `ws` socket; resolves with the HTTP status when the upgrade is refused. */
export function openRaw(url: string, options: { maxPayload?: number } = {}): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, undefined, { maxPayload: options.maxPayload ?? 64 * 1024 * 1024 });
    socket.once('open', () => resolve({ kind: 'open', socket }));
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ kind: 'refused', status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ kind: 'refused', status: res.statusCode ?? 0, body }));
    });
    socket.once('error', (err: Error) => reject(err));
  });
}

/** Resolves with the close code of a raw socket. */
export function closeCode(socket: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    if (socket.readyState === WebSocket.CLOSED) resolve(-1);
    socket.once('close', (code: number) => resolve(code));
  });
}
