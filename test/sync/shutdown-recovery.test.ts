import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as Y from 'yjs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { EXIT_CODES } from '../../server/src/exit-codes';
import { MongoStorage } from '../../server/src/storage/mongo/index';
import { readRecoveryFile, recoveryDir } from '../../server/src/sync/recovery-file';
import { connectClient, createRoom, sleep, spawnServer, tempDataDir, waitFor, type ServerProcess, type TestClient } from '../helpers/index';
import { startJongodb } from '../setup/mongo';

const GRACE_MS = 1500;
/** Time a shutdown may take beyond the grace period: closing sockets, writing the file, exiting. */
const MARGIN_MS = 5000;

const read = (doc: Y.Doc) => doc.getText('t').toString();

interface LogLine {
  level: number;
  msg: string;
  rooms?: string[];
  recoveryFile?: string;
  exitCode?: number;
}

/** The pino JSON lines a server process wrote. */
function logLines(proc: ServerProcess): LogLine[] {
  return proc
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

describe('shutdown never lies (child process)', () => {
  const cleanup: Array<() => void | Promise<unknown>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  function workspace(): { dataDir: string; faultSwitch: string; env: Record<string, string> } {
    const dataDir = tempDataDir();
    cleanup.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const faultSwitch = path.join(dataDir, 'store-writes-fail');
    const env = { ENSEMBLE_DATA_DIR: dataDir, ENSEMBLE_FAULT_WRITES_FAIL_WHILE: faultSwitch, ENSEMBLE_SHUTDOWN_GRACE_MS: String(GRACE_MS), LOG_LEVEL: 'info' };
    return { dataDir, faultSwitch, env };
  }

  async function start(env: Record<string, string>): Promise<ServerProcess> {
    const proc = await spawnServer(env);
    cleanup.push(() => {
      proc.child.kill('SIGKILL');
    });
    return proc;
  }

  /** A server, a room, and two stock clients in it (a writer and an observer), synced. */
  async function roomWithClients(env: Record<string, string>) {
    const first = await start(env);
    const room = await createRoom(first.url);
    const writer = client(first, room.room.id, room.token);
    const observer = client(first, room.room.id, room.token);
    await Promise.all([writer.synced, observer.synced]);
    return { first, room, writer, observer };
  }

  function client(proc: ServerProcess, roomId: string, token: string): TestClient {
    const c = connectClient(proc.syncUrl, roomId, token);
    cleanup.push(() => c.destroy());
    return c;
  }

  /** Sends `signal` and resolves with the exit code and how long the process took to exit. */
  async function stop(proc: ServerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | string; tookMs: number }> {
    const sentAt = Date.now();
    proc.child.kill(signal);
    const code = await proc.exited;
    return { code, tookMs: Date.now() - sentAt };
  }

  /** A writer types while an observer waits until the server has relayed (so applied) all of it. */
  async function typeAndWait(writer: TestClient, observer: TestClient, from: number, to: number): Promise<string> {
    const text = writer.doc.getText('t');
    for (let i = from; i < to; i++) text.insert(text.length, `${i};`);
    const expected = read(writer.doc);
    await waitFor(() => read(observer.doc) === expected, { message: 'the server did not relay every edit' });
    return expected;
  }

  it('SIGTERM while the store fails: retries for the grace period, exits 3 naming the rooms and the recovery file; the next start refuses while the store still fails, then replays it', async () => {
    const { dataDir, faultSwitch, env } = workspace();
    const { first, room, writer, observer } = await roomWithClients(env);
    await typeAndWait(writer, observer, 0, 20);
    await sleep(300); // stored (group commit runs within 50 ms)

    fs.writeFileSync(faultSwitch, '');
    const expected = await typeAndWait(writer, observer, 20, 120);
    await waitFor(() => first.output().includes('appending updates failed'), { message: 'the store never failed' });

    const { code, tookMs } = await stop(first);
    writer.provider.disconnect();
    observer.provider.disconnect();
    expect(code, first.output()).toBe(EXIT_CODES.savedToRecoveryFile);
    expect(tookMs).toBeGreaterThanOrEqual(GRACE_MS - 50); // it kept retrying for the grace period
    expect(tookMs).toBeLessThan(GRACE_MS + MARGIN_MS);
    const logs = logLines(first);
    expect(logs.some((l) => l.msg === 'shutdown complete')).toBe(false);
    const summary = logs.find((l) => l.msg.startsWith('shutdown incomplete'));
    expect(summary, first.output()).toBeDefined();
    expect(summary!.level).toBeGreaterThanOrEqual(50); // error
    expect(summary!.rooms).toEqual([room.room.id]);
    const recoveryFile = summary!.recoveryFile!;
    expect(path.dirname(recoveryFile)).toBe(recoveryDir(dataDir));
    expect(summary!.msg).toContain(recoveryFile);
    const saved = await readRecoveryFile(recoveryFile);
    expect(saved.map((r) => r.roomId)).toEqual([room.room.id]);
    expect(saved[0]!.updates.length).toBeGreaterThan(0);
    expect(fs.readdirSync(recoveryDir(dataDir))).toEqual([path.basename(recoveryFile)]); // no .tmp left

    // Still failing: the server does not serve rooms without those updates, and keeps the file.
    const refusal = await spawnServer(env).then(
      (proc) => {
        proc.child.kill('SIGKILL');
        return 'started';
      },
      (err: Error) => err.message,
    );
    expect(refusal).toContain(`server exited (${EXIT_CODES.recoveryReplayFailed})`);
    expect(refusal).toContain('refusing to start');
    expect(refusal).toContain(recoveryFile);
    expect(fs.existsSync(recoveryFile)).toBe(true);

    // The store works again: the file is replayed before serving, then deleted.
    fs.rmSync(faultSwitch);
    const second = await start(env);
    expect(fs.existsSync(recoveryFile)).toBe(false);
    expect(fs.readdirSync(recoveryDir(dataDir))).toEqual([]);
    const reader = client(second, room.room.id, room.token);
    await reader.synced;
    expect(read(reader.doc)).toBe(expected);
    reader.provider.disconnect();
    expect((await stop(second)).code, second.output()).toBe(EXIT_CODES.ok);
  });

  it('SIGINT while the store fails but recovers within the grace period: everything is stored, exit 0, no recovery file', async () => {
    const { dataDir, faultSwitch, env } = workspace();
    const { first, room, writer, observer } = await roomWithClients(env);
    fs.writeFileSync(faultSwitch, '');
    const expected = await typeAndWait(writer, observer, 0, 100);
    await waitFor(() => first.output().includes('appending updates failed'), { message: 'the store never failed' });

    const stopped = stop(first, 'SIGINT');
    await sleep(GRACE_MS / 3);
    fs.rmSync(faultSwitch);
    const { code } = await stopped;
    writer.provider.disconnect();
    observer.provider.disconnect();
    expect(code, first.output()).toBe(EXIT_CODES.ok);
    expect(logLines(first).some((l) => l.msg === 'shutdown complete')).toBe(true);
    expect(fs.existsSync(recoveryDir(dataDir))).toBe(false);

    const second = await start(env);
    const reader = client(second, room.room.id, room.token);
    await reader.synced;
    expect(read(reader.doc)).toBe(expected);
  });

  it('a clean SIGTERM exits 0 with "shutdown complete" and leaves no recovery file', async () => {
    const { dataDir, env } = workspace();
    const { first, room, writer, observer } = await roomWithClients(env);
    await typeAndWait(writer, observer, 0, 50);

    const { code, tookMs } = await stop(first);
    expect(code, first.output()).toBe(EXIT_CODES.ok);
    expect(tookMs).toBeLessThan(GRACE_MS + MARGIN_MS);
    const logs = logLines(first);
    expect(logs.at(-1)?.msg).toBe('shutdown complete');
    expect(logs.some((l) => l.level >= 50)).toBe(false);
    expect(fs.existsSync(recoveryDir(dataDir))).toBe(false);
  });

  it('a second signal ends a long grace period at once: exit 3 with the updates in the recovery file', async () => {
    const { faultSwitch, env } = workspace();
    const first = await start({ ...env, ENSEMBLE_SHUTDOWN_GRACE_MS: '120000' });
    const room = await createRoom(first.url);
    const writer = client(first, room.room.id, room.token);
    const observer = client(first, room.room.id, room.token);
    await Promise.all([writer.synced, observer.synced]);
    fs.writeFileSync(faultSwitch, '');
    const expected = await typeAndWait(writer, observer, 0, 40);

    first.child.kill('SIGTERM');
    await waitFor(() => first.output().includes('shutting down'));
    await sleep(300);
    const { code, tookMs } = await stop(first);
    expect(code, first.output()).toBe(EXIT_CODES.savedToRecoveryFile);
    expect(tookMs).toBeLessThan(MARGIN_MS);
    const summary = logLines(first).find((l) => l.msg.startsWith('shutdown incomplete'));
    expect(summary?.rooms, first.output()).toEqual([room.room.id]);
    const rebuilt = new Y.Doc();
    for (const update of (await readRecoveryFile(summary!.recoveryFile!))[0]!.updates) Y.applyUpdate(rebuilt, update);
    expect(read(rebuilt)).toBe(expected); // nothing was ever stored: the file alone holds the text
  });

  it('when the recovery file cannot be written either: exit 4 and a fatal log naming the rooms and the file', async () => {
    const { dataDir, faultSwitch, env } = workspace();
    const { first, room, writer, observer } = await roomWithClients(env);
    fs.writeFileSync(faultSwitch, '');
    await typeAndWait(writer, observer, 0, 30);
    // A plain file where the recovery directory should be: nothing can be written there, even as root.
    fs.writeFileSync(recoveryDir(dataDir), 'not a directory');

    const { code, tookMs } = await stop(first);
    expect(code, first.output()).toBe(EXIT_CODES.updatesLost);
    expect(tookMs).toBeLessThan(GRACE_MS + MARGIN_MS);
    const logs = logLines(first);
    expect(logs.some((l) => l.msg === 'shutdown complete')).toBe(false);
    const fatal = logs.find((l) => l.msg.startsWith('UPDATES LOST'));
    expect(fatal, first.output()).toBeDefined();
    expect(fatal!.level).toBe(60);
    expect(fatal!.rooms).toEqual([room.room.id]);
    expect(fatal!.msg).toContain(room.room.id);
    expect(fatal!.recoveryFile).toContain(recoveryDir(dataDir));
  });

  it('MongoDB that goes away: exit 3 within the grace period, the recovery file holds what clients typed, and a start on a working MongoDB replays it', async () => {
    const { dataDir, env } = workspace();
    const doomed = await startJongodb();
    cleanup.push(() => doomed.stop());
    const first = await start({ ...env, MONGODB_URI: doomed.uri, MONGODB_DB: 'ensemble' });
    const room = await createRoom(first.url);
    const writer = client(first, room.room.id, room.token);
    const observer = client(first, room.room.id, room.token);
    await Promise.all([writer.synced, observer.synced]);

    // Everything is typed once the database is gone, so the saved updates alone rebuild the text.
    await doomed.stop();
    const expected = await typeAndWait(writer, observer, 0, 80);
    const { code, tookMs } = await stop(first);
    writer.provider.disconnect();
    observer.provider.disconnect();
    expect(code, first.output()).toBe(EXIT_CODES.savedToRecoveryFile);
    expect(tookMs).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect(tookMs).toBeLessThan(GRACE_MS + MARGIN_MS);
    const summary = logLines(first).find((l) => l.msg.startsWith('shutdown incomplete'));
    expect(summary?.rooms, first.output()).toEqual([room.room.id]);
    const recoveryFile = summary!.recoveryFile!;
    const saved = await readRecoveryFile(recoveryFile);
    const rebuilt = new Y.Doc();
    for (const update of saved[0]!.updates) Y.applyUpdate(rebuilt, update);
    expect(read(rebuilt)).toBe(expected);

    // The database the room lived in is gone with jongodb; replay into another one and read it back.
    const uri = process.env.MONGODB_URI ?? inject('mongoUri');
    const dbName = `ensemble_recovery_${randomBytes(4).toString('hex')}`;
    const second = await start({ ...env, MONGODB_URI: uri, MONGODB_DB: dbName });
    expect(fs.existsSync(recoveryFile)).toBe(false);
    expect((await stop(second)).code, second.output()).toBe(EXIT_CODES.ok);
    const store = new MongoStorage({ uri, dbName });
    await store.init();
    try {
      const stored = await store.documents.loadDocument(room.room.id);
      const loaded = new Y.Doc();
      for (const { data } of stored.updates) Y.applyUpdate(loaded, data);
      expect(read(loaded)).toBe(expected);
    } finally {
      await store.dropDatabase();
      await store.close();
    }
  });
});
