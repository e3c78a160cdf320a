import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, createRoom, joinRoom, openRaw, sleep, startServer, waitFor, type TestServer } from '../helpers/index';

function awarenessFrame(clientId: number, clock: number, state: unknown): Uint8Array {
  const inner = encoding.createEncoder();
  encoding.writeVarUint(inner, 1);
  encoding.writeVarUint(inner, clientId);
  encoding.writeVarUint(inner, clock);
  encoding.writeVarString(inner, JSON.stringify(state));
  const outer = encoding.createEncoder();
  encoding.writeVarUint(outer, 1);
  encoding.writeVarUint8Array(outer, encoding.toUint8Array(inner));
  return encoding.toUint8Array(outer);
}

describe('awareness', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("a client cannot overwrite or clear another client's presence", async () => {
    const owner = await createRoom(server.url, { displayName: 'Ada' }); // names come from the token
    const other = await joinRoom(server.url, owner.room.joinCode, 'Mallory');
    const a = connectClient(server.syncUrl, owner.room.id, owner.token);
    const b = connectClient(server.syncUrl, owner.room.id, owner.token);
    await Promise.all([a.synced, b.synced]);
    a.provider.awareness.setLocalStateField('user', { name: 'Ada' });
    const aId = a.doc.clientID;
    const nameSeenByB = () => (b.provider.awareness.getStates().get(aId)?.user as { name?: string } | undefined)?.name;
    await waitFor(() => nameSeenByB() === 'Ada');

    const raw = await openRaw(`${server.syncUrl}/${owner.room.id}?token=${other.token}`);
    if (raw.kind !== 'open') throw new Error('refused');
    const clock = (b.provider.awareness.meta.get(aId)?.clock ?? 0) + 5;
    raw.socket.send(awarenessFrame(aId, clock, { user: { name: 'Impostor' } }));
    raw.socket.send(awarenessFrame(aId, clock + 1, null));
    raw.socket.send(awarenessFrame(424242, 1, { user: { name: 'Mallory' } })); // its own: allowed
    await waitFor(() => b.provider.awareness.getStates().has(424242));
    await sleep(50);
    expect(nameSeenByB()).toBe('Ada');
    expect(raw.socket.readyState).toBe(1);

    // Its own state disappears when it leaves.
    raw.socket.close();
    await waitFor(() => !b.provider.awareness.getStates().has(424242));
    a.destroy();
    b.destroy();
  });
});
