import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { CLOSE_CODES, storyOf, type ApiError, type MemberListResponse, type RemoveMemberResponse } from '../../shared/src/index';
import { createAgentExtension } from '../../server/src/agent/index';
import { JwtTokenService, resolveTokenSecret } from '../../server/src/auth/tokens';
import {
  ack,
  api,
  closeCode,
  collabClosed,
  connectClient,
  createRoom,
  joinRoom,
  openCollab,
  openRaw,
  startServer,
  waitFor,
  type TestServer,
} from '../helpers/index';

/** The issue asks for closure "within a second"; allow scheduling slack on a loaded machine. */
const CLOSE_WITHIN_MS = 1500;

/** Fails fast (instead of at the test timeout) when a socket is never closed. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms))]);
}

describe('removing members', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ extensions: [createAgentExtension({ engine: null })] });
  });
  afterAll(async () => {
    await server?.close();
  });

  const syncUrl = (roomId: string, token: string) => `${server.syncUrl}/${roomId}?token=${token}`;

  /** Writes one story paragraph through a stock sync client and waits until the server has it. */
  const writeParagraph = async (roomId: string, token: string, text: string) => {
    const writer = connectClient(server.syncUrl, roomId, token);
    await writer.synced;
    const p = new Y.XmlElement('paragraph');
    p.insert(0, [new Y.XmlText(text)]);
    storyOf(writer.doc).insert(0, [p]);
    await waitFor(() => storyOf(server.server.registry.peek(roomId)!.doc).length === 1, { message: 'paragraph reached the server' });
    writer.destroy();
  };

  it('the owner lists members and removes one: REST, sync and /collab refuse the token, open sockets close with memberRemoved', async () => {
    const owner = await createRoom(server.url, { displayName: 'Ada' });
    const editor = await joinRoom(server.url, owner.room.joinCode, 'Mallory');
    const bystander = await joinRoom(server.url, owner.room.joinCode, 'Bea');
    const roomId = owner.room.id;

    const listed = await api<MemberListResponse>(server.url, 'GET', `/api/rooms/${roomId}/members`, { token: owner.token });
    expect(listed.status).toBe(200);
    expect(listed.body.members.map((m) => m.displayName)).toEqual(['Ada', 'Mallory', 'Bea']);

    // The member is connected everywhere: a stock sync client, a raw sync socket and /collab.
    const stock = connectClient(server.syncUrl, roomId, editor.token);
    await stock.synced;
    const raw = await openRaw(syncUrl(roomId, editor.token));
    if (raw.kind !== 'open') throw new Error(`sync upgrade refused: ${raw.status}`);
    const collab = await openCollab(server.url, editor.token);
    if (collab.kind !== 'open') throw new Error(`collab refused: ${collab.message}`);
    const other = await openCollab(server.url, bystander.token);
    if (other.kind !== 'open') throw new Error('bystander refused');
    const rawClosed = closeCode(raw.socket).then((code) => ({ code, at: Date.now() }));
    const collabGone = collabClosed(collab.socket);
    const stockCodes: number[] = [];
    stock.provider.on('connection-close', (event: { code: number } | null) => event && stockCodes.push(event.code));

    const removedAt = Date.now();
    const removed = await api<RemoveMemberResponse>(server.url, 'DELETE', `/api/rooms/${roomId}/members/${editor.member.id}`, { token: owner.token });
    expect(removed.status).toBe(200);
    expect(removed.body.removed).toEqual(editor.member);

    const sync = await within(rawClosed, 5000, 'sync socket close');
    expect(sync.code).toBe(CLOSE_CODES.memberRemoved);
    expect(sync.at - removedAt).toBeLessThanOrEqual(CLOSE_WITHIN_MS);
    const gone = await within(collabGone, 5000, '/collab disconnect');
    expect(gone.notice?.code).toBe(CLOSE_CODES.memberRemoved);
    expect(gone.at - removedAt).toBeLessThanOrEqual(CLOSE_WITHIN_MS);
    await waitFor(() => stockCodes.includes(CLOSE_CODES.memberRemoved), { timeoutMs: CLOSE_WITHIN_MS, message: 'stock client closed' });
    stock.destroy();
    // Other members stay connected.
    expect(other.socket.connected).toBe(true);
    other.socket.close();

    // The token is dead on every path.
    const rest = await api<ApiError>(server.url, 'GET', `/api/rooms/${roomId}`, { token: editor.token });
    expect(rest.status).toBe(403);
    expect(rest.body.error.code).toBe('not_a_member');
    expect((await api(server.url, 'POST', `/api/rooms/${roomId}/versions`, { token: editor.token, body: { name: 'mine now' } })).status).toBe(403);
    expect((await api(server.url, 'GET', `/api/rooms/${roomId}/provenance`, { token: editor.token })).status).toBe(403);
    expect((await api(server.url, 'GET', `/api/rooms/${roomId}/versions`, { token: editor.token })).status).toBe(403);
    const again = await openRaw(syncUrl(roomId, editor.token));
    expect(again.kind).toBe('refused');
    if (again.kind === 'refused') expect(again.status).toBe(403);
    const collabAgain = await openCollab(server.url, editor.token);
    expect(collabAgain.kind).toBe('refused');
    if (collabAgain.kind === 'refused') expect(collabAgain.message).toMatch(/not a member/);

    expect((await api<MemberListResponse>(server.url, 'GET', `/api/rooms/${roomId}/members`, { token: owner.token })).body.members.map((m) => m.displayName)).toEqual(['Ada', 'Bea']);
    // Joining anew with a join code is a new member with a new id.
    const back = await joinRoom(server.url, owner.room.joinCode, 'Mallory');
    expect(back.member.id).not.toBe(editor.member.id);
    expect((await api(server.url, 'GET', `/api/rooms/${roomId}`, { token: back.token })).status).toBe(200);
  });

  it('a removed member’s token no longer opens their room as a library for recommendations', async () => {
    const mine = await createRoom(server.url);
    const theirs = await createRoom(server.url, { name: 'Their room' });
    const guest = await joinRoom(server.url, theirs.room.joinCode, 'Guest');
    await writeParagraph(mine.room.id, mine.token, 'The keeper of the lighthouse counted ships at night.');
    await writeParagraph(theirs.room.id, theirs.token, 'The lighthouse keeper counted the ships that never came back to harbour at night.');

    const collab = await openCollab(server.url, mine.token);
    if (collab.kind !== 'open') throw new Error('refused');
    const fromTheirs = async () => {
      const res = await ack<{ ok: boolean; suggestions: Array<{ source?: { roomId: string } }> }>(collab.socket, 'recommend:next', { libraryTokens: [guest.token] });
      expect(res.ok).toBe(true);
      return res.suggestions.some((s) => s.source?.roomId === theirs.room.id);
    };
    expect(await fromTheirs()).toBe(true);
    expect((await api(server.url, 'DELETE', `/api/rooms/${theirs.room.id}/members/${guest.member.id}`, { token: theirs.token })).status).toBe(200);
    expect(await fromTheirs()).toBe(false);
    collab.socket.close();
  });

  it('only the owner removes; the owner cannot be removed; unknown or malformed ids are refused', async () => {
    const owner = await createRoom(server.url);
    const editor = await joinRoom(server.url, owner.room.joinCode, 'Ed');
    const viewer = await joinRoom(server.url, owner.room.joinCode, 'Vi', 'viewer');
    const other = await createRoom(server.url);
    const roomId = owner.room.id;
    const remove = (memberId: string, token: string, room = roomId) => api<ApiError>(server.url, 'DELETE', `/api/rooms/${room}/members/${memberId}`, { token });

    expect((await remove(viewer.member.id, editor.token)).status).toBe(403);
    expect((await remove(editor.member.id, viewer.token)).status).toBe(403);
    expect((await api(server.url, 'GET', `/api/rooms/${roomId}/members`, { token: editor.token })).status).toBe(403);
    expect((await remove(viewer.member.id, other.token)).status).toBe(403); // another room's owner
    const self = await remove(owner.member.id, owner.token);
    expect(self.status).toBe(409);
    expect(self.body.error.code).toBe('owner_not_removable');
    expect((await remove('NoSuchMember', owner.token)).body.error.code).toBe('member_not_found');
    expect((await remove('bad!id', owner.token)).status).toBe(400);
    expect((await api(server.url, 'DELETE', `/api/rooms/${roomId}/members/${viewer.member.id}`)).status).toBe(401);
    // Nobody was removed by the refused calls.
    expect((await server.store.rooms.listMembers(roomId)).length).toBe(3);
    expect((await remove(viewer.member.id, owner.token)).status).toBe(200);
    expect((await remove(viewer.member.id, owner.token)).status).toBe(404);
  });

  it('a member whose row is gone is refused even when the token is valid (no fallback to the token’s role)', async () => {
    const owner = await createRoom(server.url);
    const signer = new JwtTokenService(resolveTokenSecret(server.config), 3600);
    const ghost = await signer.sign({ roomId: owner.room.id, memberId: 'NeverJoined', displayName: 'Ghost', role: 'owner' });
    expect((await api(server.url, 'PATCH', `/api/rooms/${owner.room.id}/settings`, { token: ghost, body: { autoMode: true } })).status).toBe(403);
    const sync = await openRaw(syncUrl(owner.room.id, ghost));
    expect(sync.kind === 'refused' && sync.status).toBe(403);
    expect((await openCollab(server.url, ghost)).kind).toBe('refused');
  });
});

describe('token expiry', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ extensions: [createAgentExtension({ engine: null })] });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('sync and /collab sockets close with tokenExpired when their token expires', async () => {
    const owner = await createRoom(server.url);
    const member = await joinRoom(server.url, owner.room.joinCode, 'Shortlived');
    // A token like the server's own, with a lifetime of 2 s (ENSEMBLE_TOKEN_TTL_SEC cannot go that low).
    const ttlSec = 2;
    const short = await new JwtTokenService(resolveTokenSecret(server.config), ttlSec).sign({
      roomId: owner.room.id,
      memberId: member.member.id,
      displayName: member.member.displayName,
      role: member.member.role,
    });
    const expiresAt = server.server.context.tokens.expiresAt(short);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(ttlSec * 1000);

    const raw = await openRaw(`${server.syncUrl}/${owner.room.id}?token=${short}`);
    if (raw.kind !== 'open') throw new Error(`refused: ${raw.status}`);
    const collab = await openCollab(server.url, short);
    if (collab.kind !== 'open') throw new Error(`refused: ${collab.message}`);
    const rawClosed = closeCode(raw.socket).then((code) => ({ code, at: Date.now() }));
    const collabGone = collabClosed(collab.socket);
    // A long-lived token of the same member is unaffected.
    const longLived = await openRaw(`${server.syncUrl}/${owner.room.id}?token=${member.token}`);
    if (longLived.kind !== 'open') throw new Error('refused');

    const sync = await within(rawClosed, 5000, 'sync socket close');
    expect(sync.code).toBe(CLOSE_CODES.tokenExpired);
    expect(sync.at).toBeGreaterThanOrEqual(expiresAt - 50);
    expect(sync.at - expiresAt).toBeLessThanOrEqual(CLOSE_WITHIN_MS);
    const gone = await within(collabGone, 5000, '/collab disconnect');
    expect(gone.notice?.code).toBe(CLOSE_CODES.tokenExpired);
    expect(gone.at - expiresAt).toBeLessThanOrEqual(CLOSE_WITHIN_MS);
    expect(longLived.socket.readyState).toBe(longLived.socket.OPEN);
    longLived.socket.close();

    const again = await openRaw(`${server.syncUrl}/${owner.room.id}?token=${short}`);
    expect(again.kind === 'refused' && again.status).toBe(401);
  });
});
