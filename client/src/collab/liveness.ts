import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';

/** y-websocket message type for sync messages, and the sync sub-types (y-protocols/sync). */
const MESSAGE_SYNC = 0;
const SYNC_STEP_1 = 0;
const SYNC_STEP_2 = 1;

/** How often a quiet connection is probed, and how long a probe may go unanswered before the socket counts as dead. */
export const PROBE_EVERY_MS = 1500;
export const DEAD_AFTER_MS = 4000;
/** y-websocket waits for ever on a handshake the network swallowed; retry after this long. */
export const HANDSHAKE_GIVE_UP_MS = 6000;
/** Local edits are confirmed this soon after typing pauses. */
const CONFIRM_AFTER_EDIT_MS = 150;

export interface Liveness {
  /** The browser reports no network (`navigator.onLine` false). */
  browserOffline: boolean;
  /** Local edits the server has not yet answered for (sent, or waiting to be sent). */
  unconfirmed: boolean;
}

function writeVarUint(out: number[], n: number): void {
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

/** A sync step 1 (our state vector): the server always answers it with a step 2, after everything we sent before it. */
export function encodeSyncStep1(doc: Y.Doc): Uint8Array {
  const vector = Y.encodeStateVector(doc);
  const head: number[] = [];
  writeVarUint(head, MESSAGE_SYNC);
  writeVarUint(head, SYNC_STEP_1);
  writeVarUint(head, vector.length);
  const out = new Uint8Array(head.length + vector.length);
  out.set(head);
  out.set(vector, head.length);
  return out;
}

type SyncHandler = (encoder: unknown, decoder: { arr: Uint8Array; pos: number }, ...rest: unknown[]) => void;

/**
 * Honest liveness for the sync socket. y-websocket only notices a silently dead socket after 30 s
 * without a message, and its "synced" never says whether our later edits arrived. Here a probe
 * (sync step 1) goes out after local edits and whenever the line is quiet; the server's step 2
 * answer proves it has everything sent before it. No answer in DEAD_AFTER_MS, or the browser
 * going offline, drops the socket at once so the status says offline and y-websocket reconnects.
 */
export class SyncLiveness {
  private state: Liveness = { browserOffline: typeof navigator !== 'undefined' && navigator.onLine === false, unconfirmed: false };
  private probeSentAt: number | null = null;
  private connectingSince: number | null = null;
  /** Local edits made after the outstanding probe was sent: they need another probe. */
  private editsAfterProbe = false;
  private editTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly ticker: ReturnType<typeof setInterval>;
  private readonly originalSync: SyncHandler;

  constructor(
    private readonly provider: WebsocketProvider,
    private readonly doc: Y.Doc,
    private readonly onChange: (state: Liveness) => void,
    private readonly mayConnect: () => boolean,
    /** The sync socket was found dead: whatever shares its network path is likely dead too. */
    private readonly onDeadSocket: () => void = () => {},
  ) {
    const handlers = provider.messageHandlers as unknown as SyncHandler[];
    this.originalSync = handlers[MESSAGE_SYNC]!;
    handlers[MESSAGE_SYNC] = (encoder, decoder, ...rest) => {
      const syncType = decoder.arr[decoder.pos];
      this.originalSync(encoder, decoder, ...rest);
      if (syncType === SYNC_STEP_2) this.answered();
    };
    doc.on('update', this.onUpdate);
    provider.on('status', this.onStatus);
    window.addEventListener('offline', this.onOffline);
    window.addEventListener('online', this.onOnline);
    this.ticker = setInterval(this.tick, 500);
    if (this.state.browserOffline) provider.disconnect();
  }

  get(): Liveness {
    return this.state;
  }

  private set(patch: Partial<Liveness>): void {
    const next = { ...this.state, ...patch };
    if (next.browserOffline === this.state.browserOffline && next.unconfirmed === this.state.unconfirmed) return;
    this.state = next;
    this.onChange(next);
  }

  private onUpdate = (_update: Uint8Array, origin: unknown): void => {
    if (origin === this.provider) return;
    this.set({ unconfirmed: true });
    if (this.probeSentAt !== null) this.editsAfterProbe = true;
    if (this.editTimer) clearTimeout(this.editTimer);
    this.editTimer = setTimeout(() => {
      this.editTimer = null;
      this.probe();
    }, CONFIRM_AFTER_EDIT_MS);
  };

  private onStatus = ({ status }: { status: string }): void => {
    // A fresh connection starts with its own step 1/step 2 exchange; stale probes mean nothing.
    if (status !== 'connected') this.probeSentAt = null;
    this.connectingSince = status === 'connecting' ? Date.now() : null;
  };

  private onOffline = (): void => {
    this.set({ browserOffline: true });
    // Drop the socket now rather than waiting for it to time out; edits stay in the Y.Doc.
    this.provider.disconnect();
  };

  private onOnline = (): void => {
    this.set({ browserOffline: false });
    if (this.mayConnect()) this.provider.connect();
  };

  private probe(): void {
    const ws = this.provider.ws;
    // Before the first sync the server's step 2 answers y-websocket's own step 1, not ours.
    if (!this.provider.wsconnected || !this.provider.synced || !ws || ws.readyState !== WebSocket.OPEN) return;
    if (this.probeSentAt !== null) return; // one in flight; editsAfterProbe re-probes on its answer
    this.editsAfterProbe = false;
    this.probeSentAt = Date.now();
    ws.send(encodeSyncStep1(this.doc));
  }

  private answered(): void {
    if (this.probeSentAt === null) {
      // The first sync's answer: edits made offline went out in our step 2 just before; confirm them.
      if (this.state.unconfirmed) setTimeout(() => this.probe(), 0);
      return;
    }
    this.probeSentAt = null;
    if (this.editsAfterProbe || this.editTimer) {
      if (!this.editTimer) this.probe();
      return;
    }
    this.set({ unconfirmed: false });
  }

  private tick = (): void => {
    const now = Date.now();
    if (this.provider.wsconnecting && this.connectingSince !== null && now - this.connectingSince > HANDSHAKE_GIVE_UP_MS) {
      this.restart();
      return;
    }
    if (!this.provider.wsconnected) return;
    if (this.probeSentAt !== null && now - this.probeSentAt > DEAD_AFTER_MS) {
      // The server stopped answering: treat the socket as dead and start over.
      this.restart();
      this.onDeadSocket();
      return;
    }
    if (this.probeSentAt === null && (now - this.provider.wsLastMessageReceived > PROBE_EVERY_MS || this.state.unconfirmed)) this.probe();
  };

  private restart(): void {
    this.probeSentAt = null;
    this.connectingSince = null;
    this.provider.disconnect();
    if (this.mayConnect() && !this.state.browserOffline) this.provider.connect();
  }

  destroy(): void {
    clearInterval(this.ticker);
    if (this.editTimer) clearTimeout(this.editTimer);
    (this.provider.messageHandlers as unknown as SyncHandler[])[MESSAGE_SYNC] = this.originalSync;
    this.doc.off('update', this.onUpdate);
    this.provider.off('status', this.onStatus);
    window.removeEventListener('offline', this.onOffline);
    window.removeEventListener('online', this.onOnline);
  }
}
