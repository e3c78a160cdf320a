import type { Config } from '../config';
import type { Store } from './store';
import { withDocumentWriteFaults } from './fault-injection';
import { MongoStore } from './mongo-store';
import { SqliteStore } from './sqlite-store';

export type * from './store';
export { SqliteStore, SQLITE_FILE_NAME } from './sqlite-store';
export { MongoStore, type MongoStoreOptions } from './mongo-store';
export { StoreError, type StoreErrorCode } from './store-error';
export { withRetry, type RetryOptions } from './retry';

/**
 * The store the configuration asks for: MongoDB when MONGODB_URI is set, else the embedded SQLite
 * file in ENSEMBLE_DATA_DIR; with failing document writes when ENSEMBLE_FAULT_WRITES_FAIL_WHILE
 * (test-only fault injection) is set. Not initialized yet: call `init()`.
 */
export function createStore(
  config: Pick<Config, 'ENSEMBLE_DATA_DIR' | 'MONGODB_URI' | 'MONGODB_DB'> & Partial<Pick<Config, 'ENSEMBLE_FAULT_WRITES_FAIL_WHILE'>>,
): Store {
  const store: Store = config.MONGODB_URI
    ? new MongoStore({ uri: config.MONGODB_URI, dbName: config.MONGODB_DB })
    : new SqliteStore({ dataDir: config.ENSEMBLE_DATA_DIR });
  return config.ENSEMBLE_FAULT_WRITES_FAIL_WHILE ? withDocumentWriteFaults(store, config.ENSEMBLE_FAULT_WRITES_FAIL_WHILE) : store;
}
