import fs from 'node:fs';
import type { DocumentLog, Stores } from './store';
import { StoreError } from './store-error';
import { withSlices } from './slices';

/**
 * Test-only fault injection (`ENSEMBLE_FAULT_WRITES_FAIL_WHILE`, off unless set): while a file
 * exists at `switchFile`, every document write (appendUpdates, writeSnapshot) fails with a backend
 * StoreError, as a full disk or an unreachable database would. A file is the switch so that a test
 * can turn the failure on and off in a server running as a separate process. Only the DocumentLog
 * is wrapped; the other slices are the storage's own.
 */
export function withDocumentWriteFaults<S extends Stores>(storage: S, switchFile: string): S {
  const inner = storage.documents;
  const fail = (operation: string, roomId: string) => {
    if (fs.existsSync(switchFile)) throw new StoreError(operation, roomId, 'backend', `injected fault (${switchFile} exists)`);
  };
  const documents: DocumentLog = {
    appendUpdates: async (roomId, updates) => {
      fail('appendUpdates', roomId);
      return inner.appendUpdates(roomId, updates);
    },
    loadDocument: (roomId) => inner.loadDocument(roomId),
    writeSnapshot: async (roomId, snapshot, throughSeq) => {
      fail('writeSnapshot', roomId);
      return inner.writeSnapshot(roomId, snapshot, throughSeq);
    },
  };
  return withSlices(storage, { documents });
}
