import type { IncomingMessage } from 'node:http';

interface EngineIoServer {
  on(event: 'connection', listener: (conn: { request: IncomingMessage; once(event: 'close', listener: () => void): void }) => void): void;
}

/**
 * Caps engine.io connections per address. A /collab socket is counted once its token is checked,
 * but the transport underneath exists before any token is sent (a client may never send one):
 * without this, one host could open thousands of idle connections.
 */
export class EngineConnectionCap {
  private readonly open = new Map<string, number>();

  constructor(private readonly perAddress: number) {}

  /** socket.io's `allowRequest` for new handshakes. */
  readonly allowRequest = (req: IncomingMessage, done: (message: string | null | undefined, success: boolean) => void): void => {
    if ((this.open.get(addressOf(req)) ?? 0) >= this.perAddress) done(`too many open connections from this address (at most ${this.perAddress})`, false);
    else done(null, true);
  };

  /** Counts the engine's connections as they open and close. */
  track(engine: EngineIoServer): void {
    engine.on('connection', (conn) => {
      const address = addressOf(conn.request);
      this.open.set(address, (this.open.get(address) ?? 0) + 1);
      conn.once('close', () => {
        const n = (this.open.get(address) ?? 0) - 1;
        if (n > 0) this.open.set(address, n);
        else this.open.delete(address);
      });
    });
  }
}

const addressOf = (req: IncomingMessage): string => req.socket?.remoteAddress ?? 'unknown';
