import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorsOf } from '../../shared/src/index';
import { connectClient, createRoom, joinRoom, startServer, waitConverged, waitFor, type TestServer } from '../helpers/index';

describe('stock y-websocket clients', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('two clients edit and converge; awareness is seen by the other', async () => {
    const owner = await createRoom(server.url);
    const guest = await joinRoom(server.url, owner.room.joinCode, 'Guest');
    const a = connectClient(server.syncUrl, owner.room.id, owner.token);
    const b = connectClient(server.syncUrl, owner.room.id, guest.token);
    await Promise.all([a.synced, b.synced]);

    a.doc.getText('t').insert(0, 'Hello ');
    b.doc.getText('t').insert(0, 'World');
    a.doc.getText('t').insert(3, '!');
    const text = await waitConverged([a.doc, b.doc], (d) => d.getText('t').toString());
    expect(text.length).toBe('Hello World!'.length);

    a.provider.awareness.setLocalStateField('user', { name: 'Owner', color: '#f00' });
    await waitFor(() => [...b.provider.awareness.getStates().values()].some((s) => (s.user as { name?: string } | undefined)?.name === 'Owner'));

    // The server recorded who wrote what.
    await waitFor(() => authorsOf(b.doc).get(String(a.doc.clientID))?.memberId === owner.member.id);
    expect(authorsOf(b.doc).get(String(b.doc.clientID))?.displayName).toBe('Guest');

    a.destroy();
    // The awareness state of a leaving client disappears for the others.
    await waitFor(() => !b.provider.awareness.getStates().has(a.doc.clientID));
    b.destroy();
    await waitFor(() => server.server.registry.size === 0);
    await server.server.registry.settled();

    // Reloaded from storage, the document has everything.
    const c = connectClient(server.syncUrl, owner.room.id, owner.token);
    await c.synced;
    expect(c.doc.getText('t').toString()).toBe(text);
    c.destroy();
  });
});
