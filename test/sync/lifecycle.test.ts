import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectGarbage, connectClient, createRoom, startServer, waitFor, type TestServer } from '../helpers/index';

const CYCLES = 1000;
const ROOMS = 50;


describe('room lifecycle', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it(`${CYCLES} open/close cycles leave no loaded documents and no growing heap`, async () => {
    const rooms = await Promise.all(Array.from({ length: ROOMS }, (_, i) => createRoom(server.url, { name: `room ${i}` })));
    const registry = server.server.registry;
    const checkpoints: number[] = [];
    const events = { loaded: 0, unloaded: 0, empty: 0 };
    registry.on('loaded', () => events.loaded++);
    registry.on('unloaded', () => events.unloaded++);
    registry.on('empty', () => events.empty++);

    // LANES rooms cycle concurrently; each room is opened and closed by one lane at a time.
    const LANES = 10;
    const cycleOnce = async (cycle: number) => {
      const { room, token } = rooms[cycle % ROOMS]!;
      const client = connectClient(server.syncUrl, room.id, token);
      await client.synced;
      client.doc.getText('t').insert(0, `${cycle} `);
      await waitFor(() => registry.peek(room.id)?.doc.getText('t').toString().startsWith(`${cycle} `), { intervalMs: 2 });
      client.destroy();
      await waitFor(() => registry.peek(room.id) === undefined, { intervalMs: 2, message: `room ${room.id} unloaded` });
    };
    for (let base = 0; base < CYCLES; base += LANES) {
      await Promise.all(Array.from({ length: LANES }, (_, lane) => cycleOnce(base + lane)));
      if ((base + LANES) % 200 === 0) {
        await registry.settled();
        checkpoints.push(await collectGarbage());
      }
    }
    await registry.settled();
    expect(registry.size).toBe(0);
    expect(server.server.sync.connectionCount).toBe(0);
    expect(events.loaded).toBe(CYCLES);
    expect(events.unloaded).toBe(CYCLES);
    expect(events.empty).toBe(CYCLES);

    // Heap after GC at the later checkpoints does not keep growing: allow noise, not a leak
    // (a leak of one Y.Doc + awareness per cycle would add several MB over 800 cycles).
    console.log(`lifecycle heap checkpoints (MB):`, checkpoints.map((b) => (b / 1048576).toFixed(1)).join(" "));
    const [, second, , , last] = checkpoints;
    expect(last! - second!).toBeLessThan(8 * 1024 * 1024);

    // And the content of every room survived its many loads/unloads.
    const { room, token } = rooms[0]!;
    const client = connectClient(server.syncUrl, room.id, token);
    await client.synced;
    expect(client.doc.getText('t').toString().split(' ').filter(Boolean)).toHaveLength(CYCLES / ROOMS);
    client.destroy();
  });
});
