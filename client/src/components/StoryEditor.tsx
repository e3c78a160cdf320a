import { useEffect, useMemo } from 'react';
import { EditorContent, useEditor } from '@tiptap/react';
import type { Editor } from '@tiptap/core';
import StarterKit from '@tiptap/starter-kit';
import Collaboration from '@tiptap/extension-collaboration';
import CollaborationCaret from '@tiptap/extension-collaboration-caret';
import { DOC_FIELDS, type PresenceUser } from '@ensemble/shared';
import { AiMark } from '../collab/aiMark';
import { CommentHighlights } from '../collab/commentHighlights';
import { AskShortcut, ProposalPreview } from '../collab/preview';
import { clearOnLocalEdit, UndoAcceptShortcut } from '../collab/undoAccept';
import { revertProposal } from '../lib/revert';
import { colorFor, pickColor, shouldYieldColor } from '../lib/colors';
import { draftFromSelection } from '../lib/comments';
import { myRoom, setRoomColor } from '../lib/my-rooms';
import { EditorToolbar } from './EditorToolbar';
import { useRoom } from './RoomContext';
import { WordCount } from './WordCount';

export function StoryEditor({ onEditor }: { onEditor: (editor: Editor | null) => void }) {
  const { conn, session, canEdit, nameOf, shortcut, lastAccept, notify, setCommentDraft, setActiveThread } = useRoom();
  const user: PresenceUser = useMemo(
    () => ({
      name: session.member.displayName,
      color: myRoom(window.localStorage, session.room.id)?.color ?? colorFor(session.member.id || session.member.displayName),
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
        CommentHighlights.configure({ onActivate: setActiveThread }),
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
    [conn, user, canEdit, setActiveThread],
  );

  useEffect(() => clearOnLocalEdit(conn.doc, () => (lastAccept.current = null)), [conn, lastAccept]);
  // Distinct carets: when someone present wears a colour too close to mine, one of us (the larger
  // member id) moves to the palette colour farthest from everyone's; the choice is kept per room.
  useEffect(() => {
    if (!editor) return;
    const awareness = conn.provider.awareness;
    let color = user.color;
    const check = () => {
      const others: Array<{ memberId: string; color: string }> = [];
      for (const [clientId, state] of awareness.getStates()) {
        const u = (state as { user?: PresenceUser }).user;
        if (clientId === awareness.clientID || !u || u.agent || !u.memberId || u.memberId === session.member.id) continue;
        others.push({ memberId: u.memberId, color: u.color });
      }
      if (!shouldYieldColor({ memberId: session.member.id, color }, others)) return;
      const next = pickColor(color, others.map((o) => o.color));
      if (next === color) return;
      color = next;
      setRoomColor(window.localStorage, session.room.id, next);
      editor.commands.updateUser({ ...user, color: next });
    };
    check();
    awareness.on('change', check);
    return () => awareness.off('change', check);
  }, [editor, conn, user, session.member.id, session.room.id]);

  useEffect(() => {
    onEditor(editor);
    return () => onEditor(null);
  }, [editor, onEditor]);

  const startComment = () => {
    if (!editor) return;
    const draft = draftFromSelection(editor.state);
    if (draft) setCommentDraft(draft);
    else notify('Select the passage to comment on first (the story may still be syncing).');
  };

  return (
    <div className="editor-wrap">
      {canEdit && <EditorToolbar editor={editor} onComment={startComment} />}
      <EditorContent editor={editor} />
      <WordCount editor={editor} />
      {canEdit && (
        <p className="hint">
          Tip: place the cursor and press <kbd>Ctrl</kbd>/<kbd>⌘</kbd>+<kbd>Enter</kbd> to ask the AI. Text written by the AI is{' '}
          <span className="ai-text">tinted</span>.
        </p>
      )}
    </div>
  );
}
