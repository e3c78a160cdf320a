import { BackendStorage } from '../slices';
import { SqliteAiRecordStore } from './ai-record-store';
import { SqliteConnection } from './connection';
import { SqliteDocumentLog } from './document-log';
import { SqliteRoomStore } from './room-store';
import { SqliteVersionStore } from './version-store';

export { SQLITE_FILE_NAME, SqliteConnection } from './connection';
export { SqliteAiRecordStore, SqliteDocumentLog, SqliteRoomStore, SqliteVersionStore };

const SLICES = { documents: SqliteDocumentLog, rooms: SqliteRoomStore, versions: SqliteVersionStore, records: SqliteAiRecordStore };

export interface SqliteStorageOptions {
  /** Directory holding `ensemble.db` (created when missing). */
  dataDir: string;
}

/** The embedded default storage: every slice in one SQLite file, `<dataDir>/ensemble.db` (see SqliteConnection). */
export class SqliteStorage extends BackendStorage<SqliteConnection> {
  readonly kind = 'sqlite' as const;

  constructor(options: SqliteStorageOptions) {
    super(new SqliteConnection(options.dataDir), SLICES);
  }

  get filename(): string {
    return this.connection.filename;
  }
}
