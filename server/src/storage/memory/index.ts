import { BackendStorage } from '../slices';
import { MemoryAiRecordStore } from './ai-record-store';
import { MemoryConnection, MemoryData } from './data';
import { MemoryDocumentLog } from './document-log';
import { MemoryRoomStore } from './room-store';
import { MemoryVersionStore } from './version-store';

export { MemoryConnection, MemoryData } from './data';
export { MemoryAiRecordStore, MemoryDocumentLog, MemoryRoomStore, MemoryVersionStore };

const SLICES = { documents: MemoryDocumentLog, rooms: MemoryRoomStore, versions: MemoryVersionStore, records: MemoryAiRecordStore };

/**
 * Storage in plain Maps, for unit tests: nothing survives the process. Bytes and records are
 * copied in and out, so callers cannot alias what it holds. Pass the same MemoryData to several
 * instances to have them share data (like several stores over one SQLite file).
 */
export class MemoryStorage extends BackendStorage<MemoryConnection> {
  readonly kind = 'memory' as const;

  constructor(data: MemoryData = new MemoryData()) {
    super(new MemoryConnection(data), SLICES);
  }
}
