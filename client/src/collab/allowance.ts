import type { AiAllowance } from '@ensemble/shared';
import type { ReceivedAllowance } from '../lib/allowance';
import type { CollabSocket } from './connection';

/**
 * The member's latest `ai:allowance`, kept from the socket's first moment (the server sends it right
 * after connecting, possibly before any component listens) as a store for useSyncExternalStore.
 */
export class AllowanceStore {
  private latest: ReceivedAllowance | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(socket: CollabSocket) {
    socket.on('ai:allowance', (allowance: AiAllowance) => {
      this.latest = { allowance, receivedAt: Date.now() };
      for (const l of this.listeners) l();
    });
  }

  get = (): ReceivedAllowance | null => this.latest;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}
