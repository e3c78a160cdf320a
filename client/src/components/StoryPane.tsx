import { useEffect, useState } from 'react';
import type { Editor } from '@tiptap/core';
import { DraftEditor } from './DraftEditor';
import { useRoom } from './RoomContext';
import { StoryEditor } from './StoryEditor';

type View = 'shared' | 'draft';

/**
 * The Story tab. In a classroom with assignment mode on, a student switches between the shared
 * story and their own draft; the shared editor stays mounted (hidden) so the AI panel keeps it.
 */
export function StoryPane({ onEditor }: { onEditor: (editor: Editor | null) => void }) {
  const { room, session } = useRoom();
  const [view, setView] = useState<View>('shared');
  const drafts = room.kind === 'classroom' && room.settings.assignmentMode === true && session.member.role === 'editor';
  useEffect(() => {
    if (!drafts) setView('shared');
  }, [drafts]);
  const showDraft = drafts && view === 'draft';

  return (
    <>
      {drafts && (
        <div className="segmented draft-switch" role="radiogroup" aria-label="Which text" data-testid="draft-switch">
          {(
            [
              ['shared', 'Shared story'],
              ['draft', 'My draft'],
            ] as const
          ).map(([id, label]) => (
            <label key={id} className={view === id ? 'selected' : ''}>
              <input type="radio" name="story-view" value={id} checked={view === id} onChange={() => setView(id)} />
              {label}
            </label>
          ))}
        </div>
      )}
      <div hidden={showDraft}>
        <StoryEditor onEditor={onEditor} />
      </div>
      {showDraft && <p className="muted small">The AI collaborator writes in the shared story; switch back to it to ask.</p>}
      {showDraft && <DraftEditor memberId={session.member.id} studentName={session.member.displayName} editable />}
    </>
  );
}
