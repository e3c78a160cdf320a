/**
 * Minimal typings for `ws` 8.x: `@types/ws` is not a declared dependency of this workspace (it is
 * only present transitively), so the few parts of the API Ensemble uses are declared here.
 * Delete this file once `@types/ws` is added to server/package.json.
 */
declare module 'ws' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage, Server as HttpServer, ClientRequest } from 'node:http';
  import type { Duplex } from 'node:stream';

  type RawData = Buffer | ArrayBuffer | Buffer[];

  class WebSocket extends EventEmitter {
    static readonly CONNECTING: 0;
    static readonly OPEN: 1;
    static readonly CLOSING: 2;
    static readonly CLOSED: 3;
    readonly CONNECTING: 0;
    readonly OPEN: 1;
    readonly CLOSING: 2;
    readonly CLOSED: 3;
    constructor(address: string | URL, protocols?: string | string[], options?: WebSocket.ClientOptions);
    binaryType: 'nodebuffer' | 'arraybuffer' | 'fragments';
    readonly bufferedAmount: number;
    readonly readyState: 0 | 1 | 2 | 3;
    readonly protocol: string;
    readonly url: string;
    onopen: ((event: unknown) => void) | null;
    onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;
    onerror: ((event: unknown) => void) | null;
    onmessage: ((event: { data: unknown }) => void) | null;
    close(code?: number, reason?: string | Buffer): void;
    terminate(): void;
    /** The underlying TCP socket (ws-internal, but stable across ws 8). */
    readonly _socket?: import('node:net').Socket;
    /** Stops (and restarts) reading from the socket: no message events meanwhile. */
    pause(): void;
    resume(): void;
    ping(data?: unknown, mask?: boolean, cb?: (err?: Error) => void): void;
    send(data: unknown, cb?: (err?: Error) => void): void;
    send(data: unknown, options: { binary?: boolean; compress?: boolean; fin?: boolean }, cb?: (err?: Error) => void): void;
    on(event: 'message', listener: (data: RawData, isBinary: boolean) => void): this;
    on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
    on(event: 'error', listener: (err: Error & { code?: string }) => void): this;
    on(event: 'open' | 'pong' | 'ping', listener: (...args: unknown[]) => void): this;
    on(event: 'unexpected-response', listener: (req: ClientRequest, res: IncomingMessage) => void): this;
    on(event: string | symbol, listener: (...args: any[]) => void): this;
    once(event: 'close', listener: (code: number, reason: Buffer) => void): this;
    once(event: 'unexpected-response', listener: (req: ClientRequest, res: IncomingMessage) => void): this;
    once(event: string | symbol, listener: (...args: any[]) => void): this;
  }
  namespace WebSocket {
    interface ClientOptions {
      maxPayload?: number;
      headers?: Record<string, string>;
      perMessageDeflate?: boolean;
    }
  }

  interface ServerOptions {
    noServer?: boolean;
    server?: HttpServer;
    port?: number;
    maxPayload?: number;
    perMessageDeflate?: boolean;
    clientTracking?: boolean;
  }

  class WebSocketServer extends EventEmitter {
    constructor(options: ServerOptions, callback?: () => void);
    readonly clients: Set<WebSocket>;
    handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, callback: (ws: WebSocket, request: IncomingMessage) => void): void;
    close(cb?: (err?: Error) => void): void;
  }

  export { WebSocket, WebSocketServer, RawData };
  export default WebSocket;
}
