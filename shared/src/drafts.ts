import { MemberId, RoomId } from './rooms';

/**
 * Assignment mode (classroom rooms): each student writes a draft of their own beside the shared
 * story, a separate Yjs document synced over the same endpoint under the name
 * `<roomId>/draft/<memberId>` — `new WebsocketProvider(`…${SYNC_PATH}`, draftDocName(room, me), doc)`.
 * Only that student and the teacher (the room's owner) may open it.
 */
export function draftDocName(roomId: string, memberId: string): string {
  return `${roomId}/draft/${memberId}`;
}

/** A sync document name: a room's shared document, or one student's draft in it. Null: malformed. */
export function parseDocName(name: string): { roomId: string; draftOf: string | null } | null {
  const [roomId, segment, memberId, ...rest] = name.split('/');
  if (!roomId || !RoomId.safeParse(roomId).success) return null;
  if (segment === undefined) return { roomId, draftOf: null };
  if (segment !== 'draft' || !memberId || rest.length > 0 || !MemberId.safeParse(memberId).success) return null;
  return { roomId, draftOf: memberId };
}
