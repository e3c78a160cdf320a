import type { Session, StorageLike } from './session';
import { decodeTokenClaims } from './session';

/**
 * The rooms this browser has joined (localStorage, shared by every tab): per room the member and
 * token to resume as, and when it was last opened. This is what lets a new tab, a deep link or a
 * rejoin by code continue as the same member instead of creating another one.
 */
export interface MyRoom extends Session {
  lastOpened: string;
  /** Caret colour picked in this room, kept so the member looks the same when they come back. */
  color?: string;
}

export const MY_ROOMS_KEY = 'ensemble.rooms';
const MAX_ROOMS = 50;

function readAll(storage: StorageLike): Record<string, MyRoom> {
  try {
    const parsed = JSON.parse(storage.getItem(MY_ROOMS_KEY) ?? '{}') as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    const out: Record<string, MyRoom> = {};
    for (const [id, entry] of Object.entries(parsed as Record<string, Partial<MyRoom>>)) {
      if (entry && typeof entry.token === 'string' && entry.room?.id === id && entry.member?.id && typeof entry.lastOpened === 'string') out[id] = entry as MyRoom;
    }
    return out;
  } catch {
    return {};
  }
}

function writeAll(storage: StorageLike, all: Record<string, MyRoom>): void {
  storage.setItem(MY_ROOMS_KEY, JSON.stringify(all));
}

function expired(token: string, now: number): boolean {
  const exp = decodeTokenClaims(token)?.exp;
  return typeof exp === 'number' && exp * 1000 < now;
}

/** Records (or refreshes) a room this browser is in; keeps the newest MAX_ROOMS. */
export function rememberRoom(storage: StorageLike, session: Session, now = new Date()): void {
  const all = readAll(storage);
  const before = all[session.room.id];
  all[session.room.id] = { ...before, room: session.room, member: session.member, token: session.token, lastOpened: now.toISOString() };
  const kept = Object.values(all)
    .sort((a, b) => b.lastOpened.localeCompare(a.lastOpened))
    .slice(0, MAX_ROOMS);
  writeAll(storage, Object.fromEntries(kept.map((r) => [r.room.id, r])));
}

/** Newest first, without entries whose token has expired. */
export function listMyRooms(storage: StorageLike, now = Date.now()): MyRoom[] {
  return Object.values(readAll(storage))
    .filter((r) => !expired(r.token, now))
    .sort((a, b) => b.lastOpened.localeCompare(a.lastOpened));
}

export function myRoom(storage: StorageLike, roomId: string, now = Date.now()): MyRoom | null {
  const entry = readAll(storage)[roomId];
  return entry && !expired(entry.token, now) ? entry : null;
}

export function forgetRoom(storage: StorageLike, roomId: string): void {
  const all = readAll(storage);
  delete all[roomId];
  writeAll(storage, all);
}

export function setRoomColor(storage: StorageLike, roomId: string, color: string): void {
  const all = readAll(storage);
  const entry = all[roomId];
  if (!entry) return;
  entry.color = color;
  writeAll(storage, all);
}

/** Tokens to offer when joining by code, so the server can resume a member instead of adding one. */
export function resumeTokens(storage: StorageLike, now = Date.now()): string[] {
  return listMyRooms(storage, now).map((r) => r.token);
}

/** A room's own address: `/r/<roomId>`. */
export function roomPath(roomId: string): string {
  return `/r/${encodeURIComponent(roomId)}`;
}

/** The room id in a `/r/<roomId>` path, or null. */
export function roomIdFromPath(pathname: string): string | null {
  const m = /^\/r\/([^/]+)\/?$/.exec(pathname);
  if (!m) return null;
  try {
    const id = decodeURIComponent(m[1]!);
    return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : null;
  } catch {
    return null;
  }
}
