import * as Y from 'yjs';
import type { Store } from '../storage/store';

/**
 * Loads a room's stored document (snapshot, then updates) into a new Y.Doc, without loading the
 * room into the registry. The caller destroys the doc. (To be replaced by a shared stored-document
 * loader in sync/.)
 */
export function storedDocumentLoader(store: Store): (roomId: string) => Promise<Y.Doc> {
  return async (roomId) => {
    const doc = new Y.Doc();
    const stored = await store.loadDocument(roomId);
    if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
    for (const u of stored.updates) Y.applyUpdate(doc, u.data);
    return doc;
  };
}
