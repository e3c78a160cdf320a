import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiError, RoomResponse, RotateJoinCodeResponse } from '../../shared/src/index';
import { api, createRoom, joinRoom, startServer, type TestServer } from '../helpers/index';

describe('rotating join codes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  const rotate = (roomId: string, token: string, body: unknown) =>
    api<RotateJoinCodeResponse & ApiError>(server.url, 'POST', `/api/rooms/${roomId}/join-codes/rotate`, { token, body });
  const join = (joinCode: string, displayName: string) => api<RoomResponse & ApiError>(server.url, 'POST', '/api/rooms/join', { body: { joinCode, displayName } });

  it('the old editor code stops working at once, the new one works, and members already in stay', async () => {
    const owner = await createRoom(server.url, { displayName: 'Teacher' });
    const student = await joinRoom(server.url, owner.room.joinCode, 'Ana');
    const old = owner.room.joinCode;

    const res = await rotate(owner.room.id, owner.token, { role: 'editor' });
    expect(res.status).toBe(200);
    expect(res.body.role).toBe('editor');
    expect(res.body.joinCode).not.toBe(old);

    expect((await join(old, 'Late')).status).toBe(404);
    const fresh = await join(res.body.joinCode, 'Ben');
    expect(fresh.status).toBe(200);
    expect(fresh.body.room.joinCode).toBe(res.body.joinCode);
    // Members see the new code in the room, and the student who joined with the old one is still in.
    expect((await api<{ room: { joinCode: string } }>(server.url, 'GET', `/api/rooms/${owner.room.id}`, { token: owner.token })).body.room.joinCode).toBe(res.body.joinCode);
    expect((await api(server.url, 'GET', `/api/rooms/${owner.room.id}`, { token: student.token })).status).toBe(200);
  });

  it('rotating the viewer code retires the one viewers were shown; viewers then see the new one', async () => {
    const owner = await createRoom(server.url, { displayName: 'Teacher' });
    const viewer = await api<RoomResponse>(server.url, 'POST', '/api/rooms/join', { body: { joinCode: owner.room.joinCode, displayName: 'Vic', role: 'viewer' } });
    const shown = viewer.body.room.joinCode;
    expect(shown).not.toBe(owner.room.joinCode);

    const res = await rotate(owner.room.id, owner.token, { role: 'viewer' });
    expect(res.status).toBe(200);
    expect((await join(shown, 'Late')).status).toBe(404);
    const fresh = await join(res.body.joinCode, 'Wes');
    expect(fresh.body.member.role).toBe('viewer');
    expect(fresh.body.room.joinCode).toBe(res.body.joinCode);
    // The editor code is untouched.
    expect((await join(owner.room.joinCode, 'Ed')).body.member.role).toBe('editor');
  });

  it('only the owner rotates; bad bodies and missing tokens are refused', async () => {
    const owner = await createRoom(server.url, { displayName: 'Teacher' });
    const student = await joinRoom(server.url, owner.room.joinCode, 'Ana');
    const forbidden = await rotate(owner.room.id, student.token, { role: 'editor' });
    expect(forbidden.status).toBe(403);
    expect((await join(owner.room.joinCode, 'Still')).status).toBe(200);
    expect((await rotate(owner.room.id, owner.token, { role: 'owner' })).status).toBe(400);
    expect((await rotate(owner.room.id, owner.token, { role: 'editor', extra: 1 })).status).toBe(400);
    expect((await api(server.url, 'POST', `/api/rooms/${owner.room.id}/join-codes/rotate`, { body: { role: 'editor' } })).status).toBe(401);
  });
});
