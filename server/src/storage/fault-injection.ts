import fs from 'node:fs';
import type { Store } from './store';
import { StoreError } from './store-error';

const DOCUMENT_WRITES = new Set(['appendUpdates', 'writeSnapshot']);

/**
 * Test-only fault injection (`ENSEMBLE_FAULT_WRITES_FAIL_WHILE`, off unless set): while a file
 * exists at `switchFile`, every document write fails with a backend StoreError, as a full disk or
 * an unreachable database would. A file is the switch so that a test can turn the failure on and
 * off in a server running as a separate process.
 */
export function withDocumentWriteFaults(store: Store, switchFile: string): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (typeof prop !== 'string' || !DOCUMENT_WRITES.has(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        if (fs.existsSync(switchFile)) {
          throw new StoreError(prop, typeof args[0] === 'string' ? args[0] : null, 'backend', `injected fault (${switchFile} exists)`);
        }
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}
