import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, createRoom, joinRoom, rng, sleep, startServer, waitConverged, waitFor, type TestClient, type TestServer } from '../helpers/index';

const CLIENTS = 20;
const ROUNDS = 40;

async function loadFromStore(server: TestServer, roomId: string): Promise<Y.Doc> {
  const stored = await server.store.documents.loadDocument(roomId);
  const doc = new Y.Doc();
  if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
  for (const u of stored.updates) Y.applyUpdate(doc, u.data);
  return doc;
}

describe('convergence', () => {
  let server: TestServer;
  beforeAll(async () => {
    // A small compaction threshold so snapshots + log tails are both exercised.
    server = await startServer({ env: { ENSEMBLE_COMPACT_EVERY: '50', ENSEMBLE_FLUSH_MS: '20' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  for (const seed of [1, 7, 42]) {
    it(`${CLIENTS} clients with random edits, disconnects and reconnects converge (seed ${seed})`, async () => {
      const random = rng(seed);
      const owner = await createRoom(server.url, { name: `seed ${seed}` });
      const tokens = [owner.token];
      for (let i = 1; i < CLIENTS; i++) tokens.push((await joinRoom(server.url, owner.room.joinCode, `member ${i}`)).token);
      const clients: TestClient[] = tokens.map((t) => connectClient(server.syncUrl, owner.room.id, t));
      await Promise.all(clients.map((c) => c.synced));

      for (let round = 0; round < ROUNDS; round++) {
        for (const client of clients) {
          const text = client.doc.getText('t');
          const r = random();
          if (r < 0.6 || text.length === 0) {
            text.insert(Math.floor(random() * (text.length + 1)), String.fromCharCode(97 + Math.floor(random() * 26)).repeat(1 + Math.floor(random() * 3)));
          } else if (r < 0.9) {
            const at = Math.floor(random() * text.length);
            text.delete(at, Math.min(text.length - at, 1 + Math.floor(random() * 4)));
          } else if (client.provider.wsconnected || client.provider.wsconnecting) {
            client.provider.disconnect(); // keeps editing offline
          } else {
            client.provider.connect();
          }
        }
        if (random() < 0.3) await sleep(Math.floor(random() * 20));
      }
      for (const client of clients) if (!client.provider.shouldConnect) client.provider.connect();
      await waitFor(() => clients.every((c) => c.provider.synced), { timeoutMs: 20_000, message: 'clients resynced' });

      const read = (d: Y.Doc) => d.getText('t').toString();
      const text = await waitConverged(clients.map((c) => c.doc), read, 20_000);
      expect(text.length).toBeGreaterThan(0);

      for (const c of clients) c.destroy();
      await waitFor(() => server.server.registry.peek(owner.room.id) === undefined, { message: 'room unloaded' });
      await server.server.registry.settled();
      const fresh = await loadFromStore(server, owner.room.id);
      expect(read(fresh)).toBe(text);
      fresh.destroy();
    });
  }
});
