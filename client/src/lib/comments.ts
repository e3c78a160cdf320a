import type { EditorState } from '@tiptap/pm/state';
import type { CommentAnchor } from '@ensemble/shared';
import { anchorAt } from './anchor';

/** A comment being written: the passage it will be anchored to, as it was when "Comment" was pressed. */
export interface CommentDraft {
  anchor: CommentAnchor;
  quote: string;
}

/** The draft for the editor's selection, or null when nothing is selected or the story is not bound yet. */
export function draftFromSelection(state: EditorState): CommentDraft | null {
  const { from, to, empty } = state.selection;
  if (empty) return null;
  const quote = state.doc.textBetween(from, to, '\n').trim();
  if (!quote) return null;
  const start = anchorAt(state, from);
  const end = anchorAt(state, to);
  return start && end ? { anchor: { start, end }, quote } : null;
}
