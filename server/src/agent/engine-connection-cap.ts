import type { IncomingMessage } from 'node:http';
import { KeyedCounter } from '../limits/keyed-counter';

interface EngineIoServer {
  on(event: 'connection', listener: (conn: { request: IncomingMessage; once(event: 'close', listener: () => void): void }) => void): void;
}

/**
 * Caps engine.io connections per address. A /collab socket is counted once its token is checked,
 * but the transport underneath exists before any token is sent (a client may never send one):
 * without this, one host could open thousands of idle connections.
 */
export class EngineConnectionCap {
  private readonly open = new KeyedCounter();

  constructor(private readonly perAddress: number) {}

  /** socket.io's `allowRequest` for new handshakes. */
  readonly allowRequest = (req: IncomingMessage, done: (message: string | null | undefined, success: boolean) => void): void => {
    if (this.open.get(addressOf(req)) >= this.perAddress) done(`too many open connections from this address (at most ${this.perAddress})`, false);
    else done(null, true);
  };

  /** Counts the engine's connections as they open and close. */
  track(engine: EngineIoServer): void {
    engine.on('connection', (conn) => {
      const address = addressOf(conn.request);
      this.open.increment(address);
      conn.once('close', () => this.open.decrement(address));
    });
  }
}

const addressOf = (req: IncomingMessage): string => req.socket?.remoteAddress ?? 'unknown';
