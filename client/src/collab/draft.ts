import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { draftDocName, SYNC_PATH } from '@ensemble/shared';
import { describeCloseCode } from '../lib/format';
import { wsOrigin } from '../lib/session';

export interface DraftStatus {
  synced: boolean;
  /** Why the server refused or closed the draft for good (CLOSE_CODES.draftForbidden, say), in words. */
  closedReason: string | null;
}

/**
 * One student's draft (assignment mode): its own Y.Doc over the same sync endpoint as the room,
 * under `<roomId>/draft/<memberId>`, with the viewer's token — the server decides who may open it.
 */
export class DraftConnection {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  private status: DraftStatus = { synced: false, closedReason: null };
  private readonly listeners = new Set<() => void>();

  constructor(roomId: string, memberId: string, token: string, location: { protocol: string; host: string } = window.location) {
    this.provider = new WebsocketProvider(`${wsOrigin(location)}${SYNC_PATH}`, draftDocName(roomId, memberId), this.doc, {
      params: { token },
      maxBackoffTime: 5000,
    });
    this.provider.on('sync', (synced) => this.set({ synced }));
    this.provider.on('closed', ({ code, reason }) => this.set({ synced: false, closedReason: describeCloseCode(code, reason) }));
  }

  getStatus = (): DraftStatus => this.status;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  destroy(): void {
    this.provider.destroy();
    this.doc.destroy();
  }

  private set(patch: Partial<DraftStatus>): void {
    this.status = { ...this.status, ...patch };
    for (const l of this.listeners) l();
  }
}
