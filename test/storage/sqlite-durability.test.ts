import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { SqliteStorage } from '../../server/src/storage/sqlite/index';

const here = path.dirname(fileURLToPath(import.meta.url));
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-sigkill-'));
const children: ChildProcess[] = [];
// A test that times out must not leave its child appending forever.
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

it('keeps every append that resolved when the process is SIGKILLed (WAL, synchronous=NORMAL)', async () => {
  const roomId = 'room_sigkill_1';
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures/append-until-killed.ts'), dataDir, roomId], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let lastAcknowledged = 0;
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) lastAcknowledged = Number(line);
      if (lastAcknowledged >= 300) {
        child.kill('SIGKILL'); // mid-stream: more appends are in flight
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
  });
  expect(await exited).toBe('SIGKILL');

  const store = new SqliteStorage({ dataDir });
  await store.init();
  try {
    const { updates } = await store.documents.loadDocument(roomId);
    expect(updates.length).toBeGreaterThanOrEqual(lastAcknowledged);
    expect(updates.map((u) => u.seq)).toEqual(Array.from({ length: updates.length }, (_, i) => i + 1));
    for (const { seq, data } of updates) expect(data).toEqual(Uint8Array.of(seq & 0xff, (seq >> 8) & 0xff));
    expect(await store.documents.appendUpdates(roomId, [Uint8Array.of(0)])).toBe(updates.length + 1);
  } finally {
    await store.close();
  }
});
