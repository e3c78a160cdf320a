import type { TokenClaims } from '@ensemble/shared';
import type { RoomStore } from '../storage/store';

/** Why a draft was refused (the sync endpoint closes with CLOSE_CODES.draftForbidden and this reason). */
export type DraftRefusal = { refused: string };

/**
 * Who may open `<roomId>/draft/<draftOf>` (assignment mode): the teacher (the classroom's owner)
 * always, to read or edit any student's draft; the student it belongs to while assignment mode is
 * on; nobody else — in particular no other student. `member` is the connecting member as the room
 * knows them now (currentMember). Returns null when allowed.
 */
export async function draftAccess(rooms: Pick<RoomStore, 'getRoom' | 'getMember'>, member: TokenClaims, draftOf: string): Promise<DraftRefusal | null> {
  const room = await rooms.getRoom(member.roomId);
  if (!room || room.kind !== 'classroom') return { refused: 'drafts exist only in classroom rooms' };
  const owner = await rooms.getMember(member.roomId, draftOf);
  if (!owner || owner.role !== 'editor') return { refused: 'no student with that id in this room' };
  if (member.role === 'owner') return null;
  if (member.memberId !== draftOf) return { refused: "a student's draft is open only to that student and the teacher" };
  if (!room.settings.assignmentMode) return { refused: 'assignment mode is off in this room' };
  return null;
}
