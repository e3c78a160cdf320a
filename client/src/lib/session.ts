import { JoinCode, type Member, type Room, type Role } from '@ensemble/shared';

/** What a tab remembers about the room it is in (sessionStorage: one per tab). */
export interface Session {
  room: Room;
  member: Member;
  token: string;
}

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const SESSION_KEY = 'ensemble.session';

export function saveSession(storage: StorageLike, session: Session): void {
  storage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function loadSession(storage: StorageLike): Session | null {
  const raw = storage.getItem(SESSION_KEY);
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw) as Partial<Session>;
    if (!parsed || typeof parsed.token !== 'string' || !parsed.room?.id || !parsed.member?.id) return null;
    const claims = decodeTokenClaims(parsed.token);
    if (claims?.exp && claims.exp * 1000 < Date.now()) return null;
    return parsed as Session;
  } catch {
    return null;
  }
}

export function clearSession(storage: StorageLike): void {
  storage.removeItem(SESSION_KEY);
}

/** Reads a JWT's payload without verifying it (the server verifies; the client only displays). */
export function decodeTokenClaims(token: string): { roomId?: string; memberId?: string; displayName?: string; role?: Role; exp?: number } | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const json = decodeURIComponent(
      Array.from(atob(b64), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''),
    );
    return JSON.parse(json) as ReturnType<typeof decodeTokenClaims>;
  } catch {
    return null;
  }
}

/** The join code carried by a share link (`/?join=CODE`), normalised, or '' when absent/invalid. */
export function joinCodeFromSearch(search: string): string {
  const code = new URLSearchParams(search).get('join')?.trim().toUpperCase() ?? '';
  return JoinCode.safeParse(code).success ? code : '';
}

export function shareLink(origin: string, joinCode: string): string {
  return `${origin}/?join=${encodeURIComponent(joinCode)}`;
}

export function canEdit(role: Role): boolean {
  return role === 'owner' || role === 'editor';
}

/** ws(s):// origin for the sync endpoint, from the page's http(s):// origin. */
export function wsOrigin(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
}
