import fs from 'node:fs';
import type * as Y from 'yjs';
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient, createRoom, sleep, spawnServer, tempDataDir, waitFor, type ServerProcess, type TestClient } from '../helpers/index';

/** The writer appends `<i>;` tokens; returns how many consecutive tokens a text holds. */
const tokensIn = (text: string) => (text.length === 0 ? 0 : text.split(';').length - 1);
const read = (doc: Y.Doc) => doc.getText('t').toString();

describe('durability across crashes and restarts (child process)', () => {
  const cleanup: Array<() => void | Promise<unknown>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function start(dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
    const proc = await spawnServer({ ENSEMBLE_DATA_DIR: dataDir, ...env });
    cleanup.push(() => {
      proc.child.kill('SIGKILL');
    });
    return proc;
  }

  function client(proc: ServerProcess, roomId: string, token: string): TestClient {
    const c = connectClient(proc.syncUrl, roomId, token);
    cleanup.push(() => c.destroy());
    return c;
  }

  it('SIGKILL: every update that reached the server more than 100 ms before the kill is there after a restart', async () => {
    const dataDir = tempDataDir();
    cleanup.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const first = await start(dataDir);
    const room = await createRoom(first.url);
    const writer = client(first, room.room.id, room.token);
    const observer = client(first, room.room.id, room.token);
    await Promise.all([writer.synced, observer.synced]);

    // The observer only sees what the server applied and relayed: (time, tokens) pairs.
    const seen: Array<{ at: number; tokens: number }> = [];
    observer.doc.getText('t').observe(() => seen.push({ at: Date.now(), tokens: tokensIn(read(observer.doc)) }));

    const text = writer.doc.getText('t');
    let i = 0;
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline) {
      text.insert(text.length, `${i++};`);
      await sleep(2);
    }
    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await first.exited;
    writer.provider.disconnect();
    observer.provider.disconnect();

    const safe = seen.filter((s) => s.at <= killedAt - 100).reduce((max, s) => Math.max(max, s.tokens), 0);
    expect(safe).toBeGreaterThan(50);

    const second = await start(dataDir);
    const reader = client(second, room.room.id, room.token);
    await reader.synced;
    const restored = read(reader.doc);
    expect(tokensIn(restored)).toBeGreaterThanOrEqual(safe);
    expect(restored.startsWith(Array.from({ length: safe }, (_, k) => `${k};`).join(''))).toBe(true);
  });

  it('SIGTERM: a clean shutdown loses nothing, even with a long group-commit window', async () => {
    const dataDir = tempDataDir();
    cleanup.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const env = { ENSEMBLE_FLUSH_MS: '1000' };
    const first = await start(dataDir, env);
    const room = await createRoom(first.url);
    const writer = client(first, room.room.id, room.token);
    const observer = client(first, room.room.id, room.token);
    await Promise.all([writer.synced, observer.synced]);
    const text = writer.doc.getText('t');
    for (let i = 0; i < 300; i++) text.insert(text.length, `${i};`);
    const expected = read(writer.doc);
    await waitFor(() => read(observer.doc) === expected); // everything reached the server
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    writer.provider.disconnect();
    observer.provider.disconnect();

    const second = await start(dataDir, env);
    const reader = client(second, room.room.id, room.token);
    await reader.synced;
    expect(read(reader.doc)).toBe(expected);
  });

  it('a bad environment stops startup with a clear message', async () => {
    const dataDir = tempDataDir();
    cleanup.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const failure = await spawnServer({ ENSEMBLE_DATA_DIR: dataDir, ENSEMBLE_FLUSH_MS: 'soon', ENSEMBLE_TOKEN_SECRET: 'short' }).then(
      () => null,
      (err: Error) => err.message,
    );
    expect(failure).toContain('Invalid configuration');
    expect(failure).toContain('ENSEMBLE_FLUSH_MS');
    expect(failure).toContain('ENSEMBLE_TOKEN_SECRET must be at least 32 characters');
  });
});
