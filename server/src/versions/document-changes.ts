import type * as Y from 'yjs';
import type { LoadedRoom, RoomDocuments, TransactionOrigin } from '../ports';

/**
 * Which rooms' documents changed since their last version (manual or automatic), so the snapshot
 * schedule saves only those. A room stays marked after it unloads (its change is in the store),
 * until a version of it is saved. Loading and restoring are not changes: a load replays what
 * is stored, and a restore writes a state a version already holds.
 */
export class DocumentChanges {
  /** Room → stamp of its latest change (one counter for all rooms, so a stamp is never reused). */
  private readonly changed = new Map<string, number>();
  private lastStamp = 0;
  private readonly listening = new Map<string, { doc: Y.Doc; onUpdate: (update: Uint8Array, origin: unknown) => void }>();

  constructor(private readonly documents: Pick<RoomDocuments, 'on' | 'off'>) {
    documents.on('loaded', this.onLoaded);
    documents.on('unloaded', this.onUnloaded);
  }

  /** Rooms changed since their last version, in the order they first changed. */
  rooms(): string[] {
    return [...this.changed.keys()];
  }

  /** The room's latest change now (undefined: none since its last version); hand it to `snapshotSaved`. */
  stamp(roomId: string): number | undefined {
    return this.changed.get(roomId);
  }

  /**
   * A version of the room's document as it was at `stamp` was saved: unmarked, unless it changed
   * again meanwhile (while the version was being written).
   */
  snapshotSaved(roomId: string, stamp: number | undefined): void {
    if (stamp !== undefined && this.changed.get(roomId) === stamp) this.changed.delete(roomId);
  }

  dispose(): void {
    this.documents.off('loaded', this.onLoaded);
    this.documents.off('unloaded', this.onUnloaded);
    for (const roomId of [...this.listening.keys()]) this.onUnloaded(roomId);
  }

  private readonly onLoaded = (room: LoadedRoom): void => {
    const roomId = room.roomId;
    this.onUnloaded(roomId);
    const onUpdate = (_update: Uint8Array, origin: unknown): void => {
      const source = (origin as Partial<TransactionOrigin> | null)?.source;
      if (source !== 'load' && source !== 'restore') this.changed.set(roomId, ++this.lastStamp);
    };
    room.doc.on('update', onUpdate);
    this.listening.set(roomId, { doc: room.doc, onUpdate });
  };

  private readonly onUnloaded = (roomId: string): void => {
    const entry = this.listening.get(roomId);
    if (!entry) return;
    entry.doc.off('update', entry.onUpdate);
    this.listening.delete(roomId);
  };
}
