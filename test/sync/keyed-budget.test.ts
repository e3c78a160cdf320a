
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyedBudget } from '../../server/src/limits/keyed-budget';
import { connectClient, createRoom, joinRoom, openRaw, startServer, waitFor, type TestServer } from '../helpers/index';
import { connectHostile, craft } from '../helpers/hostile';

describe('KeyedBudget', () => {
  it('lets a burst through, then asks to wait in proportion to the debt; members are separate', () => {
    let t = 0;
    const budget = new KeyedBudget(1000, 5000, () => t);
    expect(budget.charge('a', 5000)).toBe(0);
    expect(budget.charge('a', 2000)).toBe(2000); // 2000 bytes of debt at 1000 B/s
    expect(budget.charge('b', 5000)).toBe(0);
    t += 2000;
    expect(budget.charge('a', 0)).toBe(0);
    t += 10_000;
    expect(budget.charge('a', 5000)).toBe(0); // refilled, but never beyond the burst
    expect(budget.charge('a', 1)).toBe(1);
  });
});

describe('a member flooding the sync endpoint', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { ENSEMBLE_INBOUND_BYTES_PER_SEC: String(1 << 20), ENSEMBLE_INBOUND_BURST_BYTES: String(1 << 20) } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('is read more slowly, loses nothing, and does not slow the others down', async () => {
    const owner = await createRoom(server.url);
    const flooder = await joinRoom(server.url, owner.room.joinCode, 'Paster');
    const a = connectClient(server.syncUrl, owner.room.id, owner.token);
    await a.synced;
    const peer = await connectHostile(server.syncUrl, owner.room.id, flooder.token);
    let base = peer.mirror;
    const started = Date.now();
    for (let i = 0; i < 4; i++) {
      const { update, doc } = craft(base, (d) => d.getText('big').insert(0, String(i).repeat(900_000)));
      peer.send(update);
      base = doc;
    }
    a.doc.getText('t').insert(0, 'meanwhile');
    await waitFor(() => a.doc.getText('big').length === 3_600_000, { timeoutMs: 20_000, message: 'flood not fully applied' });
    // 3.6 MB at 1 MB/s after a 1 MB burst: the last frame is read once the debt before it is paid,
    // (3.6 - 1 - 0.9) MB / 1 MB/s ≈ 1.7 s — without the budget it takes a few ms.
    expect(Date.now() - started).toBeGreaterThan(1500);
    expect((await server.server.metrics.inboundThrottles.get()).values[0]?.value ?? 0).toBeGreaterThan(0);
    expect(server.server.registry.peek(owner.room.id)!.doc.getText('t').toString()).toBe('meanwhile');
    peer.close();
    a.destroy();
  });
});


describe('a member reconnecting in a loop', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { ENSEMBLE_SYNC_CONNECTS_PER_SEC: '1' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('gets 429 after a burst of ten connections; other members still connect', async () => {
    const owner = await createRoom(server.url);
    const looper = await joinRoom(server.url, owner.room.joinCode, 'Looper');
    const url = `${server.syncUrl}/${owner.room.id}?token=${looper.token}`;
    const statuses: Array<number | 'open'> = [];
    for (let i = 0; i < 14; i++) {
      const outcome = await openRaw(url);
      if (outcome.kind === 'open') {
        statuses.push('open');
        outcome.socket.close();
      } else statuses.push(outcome.status);
    }
    expect(statuses.filter((s) => s === 'open').length).toBeGreaterThanOrEqual(10);
    expect(statuses.filter((s) => s === 'open').length).toBeLessThan(14);
    expect(statuses.slice(-1)).toEqual([429]);
    const other = connectClient(server.syncUrl, owner.room.id, owner.token);
    await other.synced;
    other.destroy();
  });
});
