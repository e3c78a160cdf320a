import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { EditorContent, useEditor } from '@tiptap/react';
import StarterKit from '@tiptap/starter-kit';
import Collaboration from '@tiptap/extension-collaboration';
import CollaborationCaret from '@tiptap/extension-collaboration-caret';
import { DOC_FIELDS, type PresenceUser } from '@ensemble/shared';
import { DraftConnection } from '../collab/draft';
import { colorFor } from '../lib/colors';
import { EditorToolbar } from './EditorToolbar';
import { useRoom } from './RoomContext';
import { WordCount } from './WordCount';

/**
 * A student's draft in assignment mode: the student's own, or any student's for the teacher
 * (`editable` false: read-only). No AI here: the AI collaborator works on the shared story.
 */
export function DraftEditor({ memberId, studentName, editable }: { memberId: string; studentName: string; editable: boolean }) {
  const { session } = useRoom();
  const [draft, setDraft] = useState<DraftConnection | null>(null);
  useEffect(() => {
    const d = new DraftConnection(session.room.id, memberId, session.token);
    setDraft(d);
    return () => d.destroy();
  }, [session.room.id, session.token, memberId]);
  if (!draft) return null;
  return <DraftView draft={draft} memberId={memberId} studentName={studentName} editable={editable} />;
}

function DraftView({ draft, memberId, studentName, editable }: { draft: DraftConnection; memberId: string; studentName: string; editable: boolean }) {
  const { session } = useRoom();
  const status = useSyncExternalStore(draft.subscribe, draft.getStatus);
  const user: PresenceUser = useMemo(
    () => ({ name: session.member.displayName, color: colorFor(session.member.id), memberId: session.member.id, role: session.member.role }),
    [session.member],
  );
  const own = memberId === session.member.id;
  const label = own ? 'My draft (only you and the teacher see it)' : `${studentName}'s draft${editable ? '' : ' (read-only)'}`;
  const editor = useEditor(
    {
      editable,
      extensions: [StarterKit.configure({ undoRedo: false }), Collaboration.configure({ document: draft.doc, field: DOC_FIELDS.story }), CollaborationCaret.configure({ provider: draft.provider, user })],
      editorProps: {
        attributes: {
          class: 'story-editor draft-editor',
          role: 'textbox',
          'aria-multiline': 'true',
          'aria-label': label,
          'aria-readonly': editable ? 'false' : 'true',
          'data-testid': 'draft-editor',
          'data-draft-of': memberId,
          spellcheck: 'true',
        },
      },
    },
    [draft, user, editable],
  );

  return (
    <div className="editor-wrap draft-wrap" data-testid="draft" data-synced={status.synced}>
      <p className="draft-label muted small">{label}</p>
      {status.closedReason && (
        <p className="notice notice-error" role="alert" data-testid="draft-refused">
          {status.closedReason}
        </p>
      )}
      {editable && <EditorToolbar editor={editor} />}
      <EditorContent editor={editor} />
      <WordCount editor={editor} />
    </div>
  );
}
