import * as Y from 'yjs';
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../server/src/logger';
import { connectRedisScale } from '../../server/src/scale';
import { connectClient, createRoom, joinRoom, startServer, waitFor, type TestClient } from '../helpers/index';
import { sharedDeploymentEnv, useRedisSuite } from '../helpers/deployment';

const mongoUri = process.env.MONGODB_URI ?? inject('scaleMongoUri');

/** An awareness update of `clientId` with `state`, at a clock above `clock`. */
function awarenessOf(clientId: number, state: Record<string, unknown>, clock: number): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = clientId;
  const awareness = new Awareness(doc);
  for (let i = 0; i <= clock; i++) awareness.setLocalState(state);
  const update = encodeAwarenessUpdate(awareness, [clientId]);
  awareness.destroy();
  doc.destroy();
  return update;
}

describe('awareness from other processes', () => {
  const suite = useRedisSuite();
  const { cleanup } = suite;

  it("another member's claim, from another process, on a client id one of our connections speaks for is refused", async () => {
    const env = sharedDeploymentEnv(suite.redis, mongoUri);
    const server = await startServer({ env });
    cleanup.push(() => server.close());
    // The other process: a second participant on the same Redis streams.
    const other = await connectRedisScale(server.config, createLogger({ LOG_LEVEL: 'silent' }));
    cleanup.push(() => other.close());

    const room = await createRoom(server.url);
    const observerToken = (await joinRoom(server.url, room.room.joinCode, 'Observer')).token;
    const owner: TestClient = connectClient(server.syncUrl, room.room.id, room.token);
    const observer: TestClient = connectClient(server.syncUrl, room.room.id, observerToken);
    cleanup.push(() => owner.destroy(), () => observer.destroy());
    await Promise.all([owner.synced, observer.synced]);
    const id = owner.doc.clientID;
    const seen = (clientId: number) => observer.provider.awareness.getStates().get(clientId) as { user?: { color?: string; memberId?: string } } | undefined;
    owner.provider.awareness.setLocalStateField('user', { color: '#111111' });
    await waitFor(() => seen(id)?.user?.color === '#111111');

    const channel = await other.bus.open(room.room.id);
    channel.publishAwareness(awarenessOf(id, { user: { name: 'Intruder', memberId: 'intruder-member', color: '#666666' } }, 50));
    // A state after it on the same stream: once the observer has it, the claim was handled.
    const marker = 987_654_321;
    channel.publishAwareness(awarenessOf(marker, { user: { name: 'Marker', memberId: 'marker-member', color: '#777777' } }, 1));
    await waitFor(() => seen(marker)?.user?.color === '#777777', { message: 'the marker never arrived' });
    expect(seen(id)?.user?.color).toBe('#111111');

    // And the owner still speaks for its own state.
    owner.provider.awareness.setLocalStateField('user', { color: '#222222' });
    await waitFor(() => seen(id)?.user?.color === '#222222', { message: "the owner's own state was taken from it" });
    channel.close();
  });
});
