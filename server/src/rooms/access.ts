import type { Role, TokenClaims } from '@ensemble/shared';
import { RoomError } from '../errors';
import type { RoomRecord, RoomStore } from '../storage/store';

/** The room's record, or RoomError not_found. */
export async function requireRoom(rooms: Pick<RoomStore, 'getRoom'>, roomId: string): Promise<RoomRecord> {
  const record = await rooms.getRoom(roomId);
  if (!record) throw new RoomError('not_found', 'room_not_found', 'room not found');
  return record;
}

/** RoomError forbidden unless the token's role is one of `roles`. */
export function requireRole(claims: TokenClaims, roles: Role[], message: string): void {
  if (!roles.includes(claims.role)) throw new RoomError('forbidden', 'forbidden', message);
}
