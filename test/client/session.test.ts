import { describe, expect, it } from 'vitest';
import { canEdit, clearSession, decodeTokenClaims, joinCodeFromSearch, loadSession, saveSession, shareLink, wsOrigin, type Session, type StorageLike } from '../../client/src/lib/session';

function memoryStorage(): StorageLike & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

function jwt(payload: object): string {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64({ alg: 'HS256' })}.${b64(payload)}.sig`;
}

const session = (token: string): Session => ({
  room: { id: 'room_12345', name: 'R', kind: 'writers-room', joinCode: 'ABCDEF', createdAt: '', settings: { aiMode: 'on', aiUsesPerMember: 20, autoMode: false, autoPauseSec: 8, moderation: false } },
  member: { id: 'm1', displayName: 'Zoë', role: 'editor' },
  token,
});

describe('session storage', () => {
  it('round-trips a session and clears it', () => {
    const storage = memoryStorage();
    const s = session(jwt({ roomId: 'room_12345', exp: Math.floor(Date.now() / 1000) + 3600 }));
    saveSession(storage, s);
    expect(loadSession(storage)).toEqual(s);
    clearSession(storage);
    expect(loadSession(storage)).toBeNull();
  });

  it('forgets an expired token and garbage', () => {
    const storage = memoryStorage();
    saveSession(storage, session(jwt({ exp: Math.floor(Date.now() / 1000) - 10 })));
    expect(loadSession(storage)).toBeNull();
    storage.setItem('ensemble.session', '{not json');
    expect(loadSession(storage)).toBeNull();
  });

  it('decodes unicode claims', () => {
    const token = `x.${btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify({ displayName: 'Zoë', role: 'viewer' })))).replace(/=+$/, '')}.y`;
    expect(decodeTokenClaims(token)).toMatchObject({ displayName: 'Zoë', role: 'viewer' });
    expect(decodeTokenClaims('nope')).toBeNull();
  });
});

describe('links', () => {
  it('reads the join code from a share link', () => {
    expect(joinCodeFromSearch('?join=abc123')).toBe('ABC123');
    expect(joinCodeFromSearch('?join=no')).toBe('');
    expect(joinCodeFromSearch('')).toBe('');
  });
  it('builds share links and ws origins', () => {
    expect(shareLink('https://ensemble.example', 'K7M2QX')).toBe('https://ensemble.example/?join=K7M2QX');
    expect(wsOrigin({ protocol: 'https:', host: 'a.b' })).toBe('wss://a.b');
    expect(wsOrigin({ protocol: 'http:', host: 'localhost:8080' })).toBe('ws://localhost:8080');
  });
  it('only owners and editors edit', () => {
    expect(canEdit('owner')).toBe(true);
    expect(canEdit('editor')).toBe(true);
    expect(canEdit('viewer')).toBe(false);
  });
});
