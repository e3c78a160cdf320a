import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiError, RoomResponse } from '../../shared/src/index';
import { api, createRoom, startServer, type TestServer } from '../helpers/index';

describe('display names and room titles', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  const join = (joinCode: string, displayName: string) => api<RoomResponse & ApiError>(server.url, 'POST', '/api/rooms/join', { body: { joinCode, displayName } });

  const bad: Array<[string, string, RegExp]> = [
    ['NUL', 'Ada\u0000', /control character/],
    ['C0 control', 'Ada\u0007Lovelace', /control character/],
    ['DEL', 'Ada\u007F', /control character/],
    ['C1 control', 'Ada\u0085', /control character/],
    ['bidi override RLO', 'Ada\u202Eecalevol', /text-direction/],
    ['bidi embedding LRE', '\u202AAda', /text-direction/],
    ['bidi isolate FSI', 'Ada\u2068x\u2069', /text-direction/],
    ['lone high surrogate', 'Ada\uD800', /lone surrogate/],
    ['lone low surrogate', '\uDC00Ada', /lone surrogate/],
    ['only zero-width space', '\u200B', /no visible characters/],
    ['only zero-width joiners', '\u200C\u200D', /no visible characters/],
    ['only word joiner and BOM', '\u2060\uFEFF', /no visible characters/],
    ['only Hangul filler', '\u3164\u3164', /no visible characters/],
    ['only whitespace', ' \u00A0\u3000 ', /required|no visible characters/],
  ];

  it.each(bad)('a display name with %s is refused with a message', async (_what, displayName, message) => {
    const owner = await createRoom(server.url);
    const res = await join(owner.room.joinCode, displayName);
    expect(res.status).toBe(400);
    expect(res.body.error.issues?.[0]?.path).toBe('displayName');
    expect(res.body.error.issues?.[0]?.message).toMatch(message);
    // Same rule when the owner names themself at creation, and for the room title.
    const created = await api<ApiError>(server.url, 'POST', '/api/rooms', { body: { name: 'Fine', kind: 'classroom', displayName } });
    expect(created.status).toBe(400);
    expect(created.body.error.issues?.[0]?.path).toBe('displayName');
    const titled = await api<ApiError>(server.url, 'POST', '/api/rooms', { body: { name: displayName, kind: 'classroom' } });
    expect(titled.status).toBe(400);
    expect(titled.body.error.issues?.[0]?.path).toBe('name');
  });

  it("a member cannot take the AI collaborator's name, however it is spelled", async () => {
    const owner = await createRoom(server.url);
    for (const name of ['Ensemble AI', 'ensemble ai', 'Ｅｎｓｅｍｂｌｅ ＡＩ', 'Ensemble\u200B AI']) {
      const res = await join(owner.room.joinCode, name);
      expect(res.status, name).toBe(400);
      expect(res.body.error.issues?.[0]?.message).toMatch(/reserved/);
    }
    expect((await join(owner.room.joinCode, 'Ensemble fan')).status).toBe(200);
  });

  it('names are stored in NFC, so decomposed and composed spellings are the same name', async () => {
    const owner = await createRoom(server.url, { name: 'Cafe\u0301 nights', displayName: 'Zoe\u0308' });
    expect(owner.room.name).toBe('Caf\u00E9 nights');
    expect(owner.member.displayName).toBe('Zo\u00EB');
    const joined = await join(owner.room.joinCode, '  Rene\u0301e  ');
    expect(joined.status).toBe(200);
    expect(joined.body.member.displayName).toBe('Ren\u00E9e');
    expect((await server.store.rooms.getMember(owner.room.id, joined.body.member.id))?.displayName).toBe('Ren\u00E9e');
  });

  it('ordinary names pass, including emoji sequences, marks and other scripts; length limits are unchanged', async () => {
    const owner = await createRoom(server.url);
    for (const name of ['Ada Lovelace', '👩‍💻 Grace', 'Renée', '李小龍', 'محمد', 'x'.repeat(60)]) {
      expect((await join(owner.room.joinCode, name)).status).toBe(200);
    }
    const long = await join(owner.room.joinCode, 'x'.repeat(61));
    expect(long.status).toBe(400);
    expect(long.body.error.issues?.[0]?.message).toMatch(/at most 60/);
    expect((await api(server.url, 'POST', '/api/rooms', { body: { name: 'y'.repeat(121), kind: 'classroom' } })).status).toBe(400);
    expect((await api(server.url, 'POST', '/api/rooms', { body: { name: 'y'.repeat(120), kind: 'classroom' } })).status).toBe(201);
  });
});
