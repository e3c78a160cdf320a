import { BackendStorage } from '../slices';
import { MongoAiRecordStore } from './ai-record-store';
import { MongoConnection, type MongoStorageOptions } from './connection';
import { MongoDocumentLog } from './document-log';
import { MongoRoomStore } from './room-store';
import { MongoVersionStore } from './version-store';

export { MongoConnection, type MongoHandle, type MongoStorageOptions } from './connection';
export { MongoAiRecordStore, MongoDocumentLog, MongoRoomStore, MongoVersionStore };

const SLICES = { documents: MongoDocumentLog, rooms: MongoRoomStore, versions: MongoVersionStore, records: MongoAiRecordStore };

/** Storage in MongoDB: every slice in one database (see MongoConnection for what it relies on). */
export class MongoStorage extends BackendStorage<MongoConnection> {
  readonly kind = 'mongodb' as const;

  constructor(options: MongoStorageOptions) {
    super(new MongoConnection(options), SLICES);
  }

  get dbName(): string {
    return this.connection.dbName;
  }

  /** False when the server refused createIndex (queries still work, only slower). */
  get indexesCreated(): boolean {
    return this.connection.indexesCreated;
  }

  /** Deletes everything this storage wrote (tests and tools only). */
  dropDatabase(): Promise<void> {
    return this.connection.dropDatabase();
  }
}
