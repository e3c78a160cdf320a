import type { Config } from '../config';
import type { Stores } from './store';
import { withDocumentWriteFaults } from './fault-injection';
import { MongoStorage } from './mongo/index';
import { SqliteStorage } from './sqlite/index';

export type * from './store';
export { SqliteStorage, SQLITE_FILE_NAME, type SqliteStorageOptions } from './sqlite/index';
export { MongoStorage, type MongoStorageOptions } from './mongo/index';
export { MemoryStorage, MemoryData } from './memory/index';
export { StoreError, type StoreErrorCode } from './store-error';
export { withRetry, type RetryOptions } from './retry';
export { withSlices, SLICE_NAMES, type SliceName } from './slices';

/**
 * The storage the configuration asks for: MongoDB when MONGODB_URI is set, else the embedded SQLite
 * file in ENSEMBLE_DATA_DIR; with failing document writes when ENSEMBLE_FAULT_WRITES_FAIL_WHILE
 * (test-only fault injection) is set. Not initialized yet: call `init()`.
 */
export function createStore(
  config: Pick<Config, 'ENSEMBLE_DATA_DIR' | 'MONGODB_URI' | 'MONGODB_DB'> & Partial<Pick<Config, 'ENSEMBLE_FAULT_WRITES_FAIL_WHILE'>>,
): Stores {
  const storage: Stores = config.MONGODB_URI
    ? new MongoStorage({ uri: config.MONGODB_URI, dbName: config.MONGODB_DB })
    : new SqliteStorage({ dataDir: config.ENSEMBLE_DATA_DIR });
  return config.ENSEMBLE_FAULT_WRITES_FAIL_WHILE ? withDocumentWriteFaults(storage, config.ENSEMBLE_FAULT_WRITES_FAIL_WHILE) : storage;
}
