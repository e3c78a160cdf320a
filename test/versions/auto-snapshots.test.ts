import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { storyOf, storyText, type VersionInfo, type VersionPreviewResponse } from '../../shared/src/index';
import { ConfigError, loadConfig } from '../../server/src/config';
import { createLogger } from '../../server/src/logger';
import { AutoSnapshots } from '../../server/src/versions/auto-snapshots';
import { DocumentChanges } from '../../server/src/versions/document-changes';
import { VersionService } from '../../server/src/versions/version-service';
import { api, connectClient, createRoom, sleep, spawnServer, startServer, tempDataDir, waitFor, type TestServer } from '../helpers/index';

const paragraph = (text: string) => {
  const p = new Y.XmlElement('paragraph');
  p.insert(0, [new Y.XmlText(text)]);
  return p;
};

describe('ENSEMBLE_SNAPSHOT_INTERVAL_MS', () => {
  it('defaults to 10 minutes, 0 turns it off, anything else below 100 ms or not whole is refused with a clear message', () => {
    expect(loadConfig({}).ENSEMBLE_SNAPSHOT_INTERVAL_MS).toBe(600_000);
    expect(loadConfig({ ENSEMBLE_SNAPSHOT_INTERVAL_MS: '0' }).ENSEMBLE_SNAPSHOT_INTERVAL_MS).toBe(0);
    expect(loadConfig({ ENSEMBLE_SNAPSHOT_INTERVAL_MS: '250' }).ENSEMBLE_SNAPSHOT_INTERVAL_MS).toBe(250);
    const cases: Array<[string, string]> = [
      ['50', 'must be 0 (off) or between 100 ms and 7 days'],
      ['-1', 'must be 0 (off) or between 100 ms and 7 days'],
      ['999999999999', 'must be 0 (off) or between 100 ms and 7 days'],
      ['1.5', 'must be a whole number of milliseconds'],
      ['soon', 'must be a number of milliseconds (0 = off)'],
    ];
    for (const [value, message] of cases) {
      let error: unknown;
      try {
        loadConfig({ ENSEMBLE_SNAPSHOT_INTERVAL_MS: value });
      } catch (err) {
        error = err;
      }
      expect(error, value).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(`ENSEMBLE_SNAPSHOT_INTERVAL_MS: ENSEMBLE_SNAPSHOT_INTERVAL_MS ${message}`);
    }
  });
});

describe('automatic snapshots', () => {
  it('a server process on a short interval saves a changed room once per change, not while it stays unchanged', async () => {
    const dataDir = tempDataDir();
    const proc = await spawnServer({ ENSEMBLE_DATA_DIR: dataDir, ENSEMBLE_SNAPSHOT_INTERVAL_MS: '200', ENSEMBLE_FLUSH_MS: '10', ENSEMBLE_RATE_LIMIT_PER_MIN: '1000' });
    try {
      const owner = await createRoom(proc.url);
      const list = async () => (await api<{ versions: VersionInfo[] }>(proc.url, 'GET', `/api/rooms/${owner.room.id}/versions`, { token: owner.token })).body.versions;
      const previewOf = async (v: VersionInfo) => (await api<VersionPreviewResponse>(proc.url, 'GET', `/api/rooms/${owner.room.id}/versions/${v.id}/preview`, { token: owner.token })).body;
      const client = connectClient(proc.syncUrl, owner.room.id, owner.token);
      await client.synced;
      // Connected but unchanged: nothing to save.
      await sleep(600);
      expect(await list()).toEqual([]);

      storyOf(client.doc).insert(0, [paragraph('First scene.')]);
      const [first] = (await waitFor(async () => {
        const versions = await list();
        return versions.length > 0 ? versions : null;
      }, { message: 'first automatic snapshot' }))!;
      expect(first).toMatchObject({ name: 'Automatic snapshot', kind: 'auto', createdBy: 'server' });
      expect((await previewOf(first!)).paragraphs).toEqual(['First scene.']);
      // Several intervals without a change: still one.
      await sleep(1000);
      expect((await list()).length).toBe(1);

      storyOf(client.doc).insert(1, [paragraph('Second scene.')]);
      const versions = (await waitFor(async () => {
        const all = await list();
        return all.length === 2 ? all : null;
      }, { message: 'second automatic snapshot' }))!;
      expect((await previewOf(versions[0]!)).paragraphs).toEqual(['First scene.', 'Second scene.']);
      client.destroy();
    } finally {
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  describe('one round at a time, on the service', () => {
    let server: TestServer;
    let changes: DocumentChanges;
    let versions: VersionService;
    let rounds: AutoSnapshots;
    beforeAll(async () => {
      server = await startServer({ env: { ENSEMBLE_SNAPSHOT_INTERVAL_MS: '0', ENSEMBLE_FLUSH_MS: '10' } });
      // The server's own registry and store; rounds run when the test says (no interval).
      changes = new DocumentChanges(server.server.registry);
      versions = new VersionService(server.store.rooms, server.store.versions, server.server.registry, changes);
      rounds = new AutoSnapshots(changes, versions, 0, createLogger({ LOG_LEVEL: 'silent' }));
    });
    afterAll(async () => {
      changes?.dispose();
      await server?.close();
    });

    it('skips rooms saved by hand since their last change, and saves rooms that changed and were unloaded since', async () => {
      const owner = await createRoom(server.url);
      const claims = await server.server.context.tokens.verify(owner.token);
      const autos = async () => (await server.store.versions.listVersions(owner.room.id)).filter((v) => v.kind === 'auto');
      const serverShows = (text: string) => waitFor(() => storyText(server.server.registry.peek(owner.room.id)!.doc) === text);

      const client = connectClient(server.syncUrl, owner.room.id, owner.token);
      await client.synced;
      storyOf(client.doc).insert(0, [paragraph('Saved by hand.')]);
      await serverShows('Saved by hand.');
      expect(changes.rooms()).toContain(owner.room.id);
      await versions.save(claims, 'By hand');
      expect(changes.rooms()).not.toContain(owner.room.id);
      await rounds.snapshotChangedRooms();
      expect(await autos()).toEqual([]);

      storyOf(client.doc).insert(1, [paragraph('Then the room emptied.')]);
      await serverShows('Saved by hand.\nThen the room emptied.');
      client.destroy();
      await waitFor(() => server.server.registry.peek(owner.room.id) === undefined, { message: 'room unloaded' });
      await rounds.snapshotChangedRooms();
      const [auto] = await autos();
      expect(auto).toMatchObject({ name: 'Automatic snapshot', kind: 'auto' });
      const snapshot = new Y.Doc();
      Y.applyUpdate(snapshot, (await server.store.versions.getVersion(owner.room.id, auto!.id))!.snapshot);
      expect(storyText(snapshot)).toBe('Saved by hand.\nThen the room emptied.');
      // Saved: the next round has nothing to do.
      await rounds.snapshotChangedRooms();
      expect((await autos()).length).toBe(1);
    });
  });
});
