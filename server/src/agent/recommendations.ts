import type * as Y from 'yjs';
import type { Suggestion } from '@ensemble/shared';
import type { LibraryPassage } from '../recommendation';
import type { Admission } from './admission';
import { parseAnchor, linearizeStory, resolveAnchor } from './anchor';
import type { AgentRecords } from './records';
import type { Actor, RoomScope } from './types';

/** "What next" suggestions for a member at a place in the story, and their dismissal. */
export class RoomRecommendations {
  constructor(
    private readonly scope: RoomScope,
    private readonly admission: Admission,
    private readonly records: AgentRecords,
  ) {}

  /** A member hides a suggestion; recorded as feedback, so viewers (who only read) may not. */
  async dismiss(actor: Actor, suggestionId: string): Promise<void> {
    this.admission.requireEditor(actor, 'viewers cannot dismiss suggestions');
    await this.records.feedback(actor.memberId, suggestionId, 0, 'dismiss', this.scope.deps.recommendations.suggestionText(suggestionId));
  }

  async next(actor: Actor, anchor: string | undefined, library: LibraryPassage[]): Promise<Suggestion[]> {
    const { roomId, deps } = this.scope;
    const { context, own } = await this.scope.withDoc((room) => {
      const at = anchor ? resolveAnchorSafe(room.doc, anchor) : null;
      const lin = linearizeStory(room.doc, at ?? undefined);
      const offset = lin.offset ?? lin.text.length;
      return { context: lin.text.slice(Math.max(0, offset - 800), offset), own: lin.blocks };
    });
    const roomName = (await this.scope.roomRecord(5000)).name;
    const passages: LibraryPassage[] = [...own.map((text) => ({ roomId, roomName, text })), ...library];
    return deps.recommendations.next(roomId, actor.memberId, context, passages);
  }
}

function resolveAnchorSafe(doc: Y.Doc, encoded: string) {
  try {
    return resolveAnchor(doc, parseAnchor(encoded));
  } catch {
    return null;
  }
}
