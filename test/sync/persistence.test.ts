import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, createRoom, sleep, startServer, waitFor, type TestServer } from '../helpers/index';

type Patchable = Record<string, (...args: any[]) => Promise<any>>;

async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('persistence', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { ENSEMBLE_FLUSH_MS: '10', ENSEMBLE_COMPACT_EVERY: '20' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('loading is single-flight: racing clients share one load', async () => {
    const owner = await createRoom(server.url);
    const store = server.store.documents as unknown as Patchable;
    const original = store.loadDocument!;
    let loads = 0;
    store.loadDocument = async (...args: unknown[]) => {
      loads++;
      await sleep(50);
      return original.apply(server.store.documents, args);
    };
    try {
      const clients = Array.from({ length: 5 }, () => connectClient(server.syncUrl, owner.room.id, owner.token));
      const [pinned] = await Promise.all([server.server.registry.acquire(owner.room.id), ...clients.map((c) => c.synced)]);
      expect(loads).toBe(1);
      expect(clients.every((c) => server.server.registry.peek(owner.room.id) === pinned)).toBe(true);
      for (const c of clients) c.destroy();
      await waitFor(() => pinned.connectionCount === 0);
      // Still pinned by acquire: stays loaded until released.
      await sleep(30);
      expect(server.server.registry.peek(owner.room.id)).toBe(pinned);
      server.server.registry.release(owner.room.id);
      await waitFor(() => server.server.registry.peek(owner.room.id) === undefined);
    } finally {
      store.loadDocument = original;
    }
  });

  it('a failing store is retried and counted; the document stays loaded and nothing is lost', async () => {
    const owner = await createRoom(server.url);
    const store = server.store.documents as unknown as Patchable;
    const original = store.appendUpdates!;
    let failures = 0;
    store.appendUpdates = async (...args: unknown[]) => {
      if (failures < 4) {
        failures++;
        throw new Error('database is locked');
      }
      return original.apply(server.store.documents, args);
    };
    const errorsBefore = await metric(server, 'ensemble_store_errors_total');
    try {
      const a = connectClient(server.syncUrl, owner.room.id, owner.token);
      await a.synced;
      a.doc.getText('t').insert(0, 'survives a flaky disk');
      await waitFor(() => failures >= 2);
      a.destroy();
      // The unload waits for the flush: the document is still loaded while writes fail.
      await sleep(20);
      expect(server.server.registry.peek(owner.room.id)).toBeDefined();
      await waitFor(() => server.server.registry.peek(owner.room.id) === undefined, { timeoutMs: 15_000 });
    } finally {
      store.appendUpdates = original;
    }
    expect(failures).toBe(4);
    expect((await metric(server, 'ensemble_store_errors_total')) - errorsBefore).toBeGreaterThanOrEqual(4);
    expect(await metric(server, 'ensemble_store_retries_total')).toBeGreaterThanOrEqual(4);
    const b = connectClient(server.syncUrl, owner.room.id, owner.token);
    await b.synced;
    expect(b.doc.getText('t').toString()).toBe('survives a flaky disk');
    b.destroy();
  });

  it('the log is compacted into snapshots; load = snapshot + tail', async () => {
    const owner = await createRoom(server.url);
    const a = connectClient(server.syncUrl, owner.room.id, owner.token);
    await a.synced;
    for (let i = 0; i < 95; i++) {
      a.doc.getText('t').insert(0, 'x');
      if (i % 10 === 0) await sleep(15);
    }
    await waitFor(() => server.server.registry.peek(owner.room.id)?.doc.getText('t').length === 95);
    a.destroy();
    await waitFor(() => server.server.registry.peek(owner.room.id) === undefined);
    await server.server.registry.settled();
    const stored = await server.store.documents.loadDocument(owner.room.id);
    expect(stored.snapshot).not.toBeNull();
    expect(stored.updates.length).toBeLessThan(20 + 10);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, stored.snapshot!);
    for (const u of stored.updates) Y.applyUpdate(doc, u.data);
    expect(doc.getText('t').length).toBe(95);
  });
});
