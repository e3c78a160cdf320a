import { Extension } from '@tiptap/core';
import type * as Y from 'yjs';

export interface UndoAcceptOptions {
  /** The proposal this member accepted last, if they have not edited since (else null). */
  pending: () => string | null;
  /** Undo that accept (the server's `proposal:revert`). */
  onUndo: (proposalId: string) => void;
}

/**
 * Ctrl/Cmd+Z right after this member's own accept undoes the accept — the AI text is the agent's
 * edit, which the per-user Yjs undo manager does not track, so it would otherwise undo the
 * member's own earlier typing. Otherwise the key falls through to that per-user undo.
 */
export const UndoAcceptShortcut = Extension.create<UndoAcceptOptions>({
  name: 'undoAcceptShortcut',
  // Before Collaboration's Yjs undo, which binds Mod-z too.
  priority: 1000,
  addOptions() {
    return { pending: () => null, onUndo: () => {} };
  },
  addKeyboardShortcuts() {
    return {
      'Mod-z': () => {
        const id = this.options.pending();
        if (!id) return false;
        this.options.onUndo(id);
        return true;
      },
    };
  },
});

/** Forgets the pending accept at this member's next own edit of the document. Returns the unsubscribe. */
export function clearOnLocalEdit(doc: Y.Doc, clear: () => void): () => void {
  const onTransaction = (tr: Y.Transaction): void => {
    if (tr.local && tr.changed.size > 0) clear();
  };
  doc.on('afterTransaction', onTransaction);
  return () => doc.off('afterTransaction', onTransaction);
}
