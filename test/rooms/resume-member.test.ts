import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoomResponse } from '../../shared/src/index';
import { api, createRoom, startServer, type TestServer } from '../helpers/index';

/** Issue 13 item 8: joining again by code with this browser's token resumes the member. */
describe('join by code resumes a member', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  const join = (body: Record<string, unknown>) => api<RoomResponse>(server.url, 'POST', '/api/rooms/join', { body });
  const owner = async () => (await api<RoomResponse>(server.url, 'POST', '/api/rooms', { body: { name: 'Resume', kind: 'writers-room', displayName: 'Olga' } })).body;
  const members = async (o: RoomResponse) => (await api<{ members: Array<{ id: string; displayName: string }> }>(server.url, 'GET', `/api/rooms/${o.room.id}/members`, { token: o.token })).body.members;

  it('same name (any case) and role with a token of that room: the same member, no duplicate', async () => {
    const o = await owner();
    const first = (await join({ joinCode: o.room.joinCode, displayName: 'Ben' })).body;
    const again = await join({ joinCode: o.room.joinCode, displayName: ' ben', resume: ['garbage', first.token] });
    expect(again.status).toBe(200);
    expect(again.body.member.id).toBe(first.member.id);
    expect(again.body.member.displayName).toBe('Ben');
    expect((await members(o)).filter((m) => m.displayName === 'Ben')).toHaveLength(1);
  });

  it('another name, another room’s token, a viewer rejoin or no token: a new member', async () => {
    const o = await owner();
    const other = await createRoom(server.url, { name: 'Other' });
    const ben = (await join({ joinCode: o.room.joinCode, displayName: 'Ben' })).body;
    const elsewhere = (await join({ joinCode: other.room.joinCode, displayName: 'Ben' })).body;
    expect((await join({ joinCode: o.room.joinCode, displayName: 'Bea', resume: [ben.token] })).body.member.id).not.toBe(ben.member.id);
    expect((await join({ joinCode: o.room.joinCode, displayName: 'Ben', resume: [elsewhere.token] })).body.member.id).not.toBe(ben.member.id);
    expect((await join({ joinCode: o.room.joinCode, displayName: 'Ben', role: 'viewer', resume: [ben.token] })).body.member.id).not.toBe(ben.member.id);
    expect((await join({ joinCode: o.room.joinCode, displayName: 'Ben' })).body.member.id).not.toBe(ben.member.id);
  });

  it('rejects malformed resume lists', async () => {
    const o = await owner();
    expect((await join({ joinCode: o.room.joinCode, displayName: 'Ben', resume: 'x' })).status).toBe(400);
    expect((await join({ joinCode: o.room.joinCode, displayName: 'Ben', resume: Array.from({ length: 51 }, () => 'a') })).status).toBe(400);
  });

  it('the owner’s watch-only code is the one a viewer sees', async () => {
    const o = await owner();
    const code = (await api<{ joinCode: string }>(server.url, 'POST', `/api/rooms/${o.room.id}/join-codes`, { token: o.token, body: { role: 'viewer' } })).body.joinCode;
    const viewer = (await join({ joinCode: code, displayName: 'Vic' })).body;
    expect(viewer.member.role).toBe('viewer');
    expect(viewer.room.joinCode).toBe(code);
  });
});
