import { useEffect, useMemo } from 'react';
import { EditorContent, useEditor } from '@tiptap/react';
import type { Editor } from '@tiptap/core';
import StarterKit from '@tiptap/starter-kit';
import Collaboration from '@tiptap/extension-collaboration';
import CollaborationCaret from '@tiptap/extension-collaboration-caret';
import { DOC_FIELDS, type PresenceUser } from '@ensemble/shared';
import { AiMark } from '../collab/aiMark';
import { AskShortcut, ProposalPreview } from '../collab/preview';
import { clearOnLocalEdit, UndoAcceptShortcut } from '../collab/undoAccept';
import { revertProposal } from '../lib/revert';
import { colorFor } from '../lib/colors';
import { useRoom } from './RoomContext';

export function StoryEditor({ onEditor }: { onEditor: (editor: Editor | null) => void }) {
  const { conn, session, canEdit, nameOf, shortcut, lastAccept, notify } = useRoom();
  const user: PresenceUser = useMemo(
    () => ({
      name: session.member.displayName,
      color: colorFor(session.member.id || session.member.displayName),
      memberId: session.member.id,
      role: session.member.role,
    }),
    [session.member],
  );

  const editor = useEditor(
    {
      editable: canEdit,
      extensions: [
        // Collaboration brings its own (Yjs) undo/redo.
        StarterKit.configure({ undoRedo: false }),
        Collaboration.configure({ document: conn.doc, field: DOC_FIELDS.story }),
        CollaborationCaret.configure({ provider: conn.provider, user }),
        AiMark.configure({ nameOf }),
        ProposalPreview,
        AskShortcut.configure({ onAsk: () => shortcut.current() }),
        UndoAcceptShortcut.configure({
          pending: () => lastAccept.current,
          onUndo: (id) => {
            lastAccept.current = null;
            void revertProposal(conn, id, notify);
          },
        }),
      ],
      editorProps: {
        attributes: {
          class: 'story-editor',
          role: 'textbox',
          'aria-multiline': 'true',
          'aria-label': canEdit ? 'Story text (shared with the room)' : 'Story text (read-only for viewers)',
          'aria-readonly': canEdit ? 'false' : 'true',
          'data-testid': 'story-editor',
          spellcheck: 'true',
        },
      },
    },
    [conn, user, canEdit],
  );

  useEffect(() => clearOnLocalEdit(conn.doc, () => (lastAccept.current = null)), [conn, lastAccept]);

  useEffect(() => {
    onEditor(editor);
    return () => onEditor(null);
  }, [editor, onEditor]);

  return (
    <div className="editor-wrap">
      <EditorContent editor={editor} />
      {canEdit && (
        <p className="hint">
          Tip: place the cursor and press <kbd>Ctrl</kbd>/<kbd>⌘</kbd>+<kbd>Enter</kbd> to ask the AI. Text written by the AI is{' '}
          <span className="ai-text">tinted</span>.
        </p>
      )}
    </div>
  );
}
