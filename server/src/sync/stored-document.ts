import * as Y from 'yjs';
import type { RoomDocuments } from '../ports';
import type { DocumentLog } from '../storage/store';

type DocumentSource = Pick<DocumentLog, 'loadDocument'>;

export interface LoadedDocument {
  doc: Y.Doc;
  /** Highest seq the document includes (snapshot or log). */
  lastSeq: number;
  /** Log entries after the snapshot (how far compaction is behind). */
  tail: number;
}

/**
 * The one way a room's stored state becomes a Y.Doc: snapshot, then the log in seq order, in one
 * transaction with `origin`. On failure the half-built doc is destroyed and the error rethrown.
 */
export async function loadStoredDocument(store: DocumentSource, roomId: string, options: { gc?: boolean; origin?: unknown } = {}): Promise<LoadedDocument> {
  const doc = new Y.Doc({ gc: options.gc ?? true });
  try {
    const stored = await store.loadDocument(roomId);
    doc.transact(() => {
      if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
      for (const { data } of stored.updates) Y.applyUpdate(doc, data);
    }, options.origin ?? null);
    return { doc, lastSeq: Math.max(stored.snapshotSeq, stored.updates.at(-1)?.seq ?? 0), tail: stored.updates.length };
  } catch (err) {
    doc.destroy();
    throw err;
  }
}

/**
 * Runs `read` on the room's document without pinning it: the loaded one when the room is active
 * (no copy), else a temporary one loaded from the store and destroyed afterwards.
 */
export async function readRoomDocument<T>(
  documents: Pick<RoomDocuments, 'peek'>,
  store: DocumentSource,
  roomId: string,
  read: (doc: Y.Doc) => T | Promise<T>,
): Promise<T> {
  const loaded = documents.peek(roomId);
  if (loaded) return read(loaded.doc);
  const { doc } = await loadStoredDocument(store, roomId);
  try {
    return await read(doc);
  } finally {
    doc.destroy();
  }
}
