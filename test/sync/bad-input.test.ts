import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../shared/src/index';
import { connectClient, createRoom, joinRoom, openRaw, rng, startServer, waitConverged, waitFor, type TestServer, type WebSocket } from '../helpers/index';

const MAX_BYTES = 4096;
const FRAMES = 10_000;
const PER_CONNECTION = 25;

function validUpdateMessage(random: () => number): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('fuzz').insert(0, 'x'.repeat(1 + Math.floor(random() * 40)));
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, 0);
  syncProtocol.writeUpdate(enc, Y.encodeStateAsUpdate(doc));
  doc.destroy();
  return encoding.toUint8Array(enc);
}

function randomBytes(random: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** Random, truncated, garbage-after-valid-prefix and oversized frames. */
function hostileFrame(random: () => number): { frame: Uint8Array; oversized: boolean } {
  const r = random();
  if (r < 0.3) return { frame: randomBytes(random, Math.floor(random() * 200)), oversized: false };
  if (r < 0.5) {
    const valid = validUpdateMessage(random);
    return { frame: valid.slice(0, Math.floor(random() * valid.length)), oversized: false };
  }
  if (r < 0.65) {
    const body = randomBytes(random, 1 + Math.floor(random() * 100));
    const prefix = random() < 0.5 ? [0, 2] : [0, 0];
    return { frame: new Uint8Array([...prefix, body.length, ...body]), oversized: false };
  }
  if (r < 0.8) {
    const body = randomBytes(random, 1 + Math.floor(random() * 100));
    return { frame: new Uint8Array([1, body.length, ...body]), oversized: false };
  }
  if (r < 0.9) {
    const valid = validUpdateMessage(random);
    const i = Math.floor(random() * valid.length);
    valid[i] = Math.floor(random() * 256); // one corrupted byte
    return { frame: valid, oversized: false };
  }
  return { frame: randomBytes(random, MAX_BYTES + 1 + Math.floor(random() * 3 * MAX_BYTES)), oversized: true };
}

describe('hostile input on the sync endpoint', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { ENSEMBLE_MAX_MESSAGE_BYTES: String(MAX_BYTES), ENSEMBLE_SYNC_CONNECTS_PER_SEC: '10000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it(`${FRAMES} random, truncated and oversized frames: server survives, hostile clients are closed, others keep syncing`, async () => {
    const random = rng(1234);
    const owner = await createRoom(server.url);
    const hostile = await joinRoom(server.url, owner.room.joinCode, 'Mallory');
    const guest = await joinRoom(server.url, owner.room.joinCode, 'Guest');
    const a = connectClient(server.syncUrl, owner.room.id, owner.token);
    const b = connectClient(server.syncUrl, owner.room.id, guest.token);
    await Promise.all([a.synced, b.synced]);

    const codes = new Map<number, number>();
    let sent = 0;
    let edits = 0;
    const url = `${server.syncUrl}/${owner.room.id}?token=${hostile.token}`;
    while (sent < FRAMES) {
      const outcome = await openRaw(url);
      if (outcome.kind !== 'open') throw new Error(`hostile upgrade refused: ${outcome.status}`);
      const socket: WebSocket = outcome.socket;
      socket.on('error', () => {});
      const closed = new Promise<number>((resolve) => socket.once('close', (code: number) => resolve(code)));
      let expectTooBig = false;
      for (let i = 0; i < PER_CONNECTION && sent < FRAMES; i++) {
        const { frame, oversized } = hostileFrame(random);
        if (socket.readyState !== 1) break;
        socket.send(frame);
        sent++;
        if (oversized) {
          expectTooBig = true;
          break; // the server closes on it; later frames would be dropped anyway
        }
      }
      // Frames the server accepts leave the socket open: give it a moment, longer when it must close.
      const code = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(0), expectTooBig ? 5000 : 300))]);
      if (code === 0) {
        socket.close(1000);
        await closed;
      }
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if (expectTooBig) expect([CLOSE_CODES.messageTooBig, CLOSE_CODES.malformedMessage, CLOSE_CODES.updateRejected]).toContain(code);
      // Honest clients keep editing between hostile bursts.
      if (sent % 500 < PER_CONNECTION) {
        (edits++ % 2 ? a : b).doc.getText('t').insert(0, `${edits}.`);
      }
    }
    expect(sent).toBe(FRAMES);
    // Every hostile connection was closed with a specific code (or stayed open: all its frames were valid).
    for (const code of codes.keys()) expect([CLOSE_CODES.malformedMessage, CLOSE_CODES.messageTooBig, CLOSE_CODES.updateRejected, 0]).toContain(code);
    expect(codes.get(CLOSE_CODES.malformedMessage) ?? 0).toBeGreaterThan(10);
    expect(codes.get(CLOSE_CODES.messageTooBig) ?? 0).toBeGreaterThan(10);

    a.doc.getText('t').insert(0, 'still here ');
    const text = await waitConverged([a.doc, b.doc], (d) => d.getText('t').toString());
    expect(text).toContain('still here ');
    await waitFor(() => server.server.registry.peek(owner.room.id)?.doc.getText('t').toString() === text);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    a.destroy();
    b.destroy();

    // What was stored reloads, and equals what the honest clients saw.
    await waitFor(() => server.server.registry.peek(owner.room.id) === undefined);
    await server.server.registry.settled();
    const stored = await server.store.documents.loadDocument(owner.room.id);
    const fresh = new Y.Doc();
    if (stored.snapshot) Y.applyUpdate(fresh, stored.snapshot);
    for (const u of stored.updates) Y.applyUpdate(fresh, u.data);
    expect(fresh.getText('t').toString()).toBe(text);
  });
});
