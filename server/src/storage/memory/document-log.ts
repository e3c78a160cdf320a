import type { DocumentLog, StoredDocument } from '../store';
import { checkThroughSeq } from '../store-error';
import { copyBytes, type MemoryConnection, type MemoryData, type MemoryDocument } from './data';

/** The update log and snapshots in memory: one MemoryDocument per room. */
export class MemoryDocumentLog implements DocumentLog {
  constructor(private readonly connection: MemoryConnection) {}

  appendUpdates(roomId: string, updates: Uint8Array[]): Promise<number> {
    return this.connection.run('appendUpdates', roomId, (data) => {
      const doc = documentOf(data, roomId);
      for (const update of updates) doc.updates.push({ seq: ++doc.lastSeq, data: copyBytes(update) });
      return doc.lastSeq;
    });
  }

  loadDocument(roomId: string): Promise<StoredDocument> {
    return this.connection.run('loadDocument', roomId, (data) => {
      const doc = data.documents.get(roomId);
      const snapshotSeq = doc?.snapshot?.throughSeq ?? 0;
      return {
        snapshot: doc?.snapshot ? copyBytes(doc.snapshot.data) : null,
        snapshotSeq,
        updates: (doc?.updates ?? []).filter((u) => u.seq > snapshotSeq).map((u) => ({ seq: u.seq, data: copyBytes(u.data) })),
      };
    });
  }

  /** A snapshot older than the stored one is ignored. */
  writeSnapshot(roomId: string, snapshot: Uint8Array, throughSeq: number): Promise<void> {
    return this.connection.run('writeSnapshot', roomId, (data) => {
      checkThroughSeq(roomId, throughSeq);
      const doc = documentOf(data, roomId);
      if (doc.snapshot && doc.snapshot.throughSeq > throughSeq) return;
      doc.snapshot = { throughSeq, data: copyBytes(snapshot) };
      this.deleteCoveredUpdates(doc, throughSeq);
      // Never hand out a seq the snapshot already claims to cover.
      doc.lastSeq = Math.max(doc.lastSeq, throughSeq);
    });
  }

  /** Drops log entries a snapshot covers. Separate so tests can leave them behind, as a crash could in other stores. */
  protected deleteCoveredUpdates(doc: MemoryDocument, throughSeq: number): void {
    doc.updates = doc.updates.filter((u) => u.seq > throughSeq);
  }
}

function documentOf(data: MemoryData, roomId: string): MemoryDocument {
  let doc = data.documents.get(roomId);
  if (!doc) data.documents.set(roomId, (doc = { lastSeq: 0, snapshot: null, updates: [] }));
  return doc;
}
