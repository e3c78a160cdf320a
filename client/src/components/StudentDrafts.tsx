import { useCallback, useEffect, useRef, useState } from 'react';
import type { Member } from '@ensemble/shared';
import { api, ApiRequestError } from '../lib/api';
import { DraftEditor } from './DraftEditor';
import { useRoom } from './RoomContext';

/** The teacher's list of students' drafts (assignment mode): open any one read-only or to edit. */
export function StudentDrafts() {
  const { room, session, conn, notify } = useRoom();
  const [students, setStudents] = useState<Member[] | null>(null);
  const [open, setOpen] = useState<{ member: Member; editable: boolean } | null>(null);
  const known = useRef(new Set<string>());

  const load = useCallback(async () => {
    try {
      const members = await api.listMembers(room.id, session.token);
      known.current = new Set(members.map((m) => m.id));
      setStudents(members.filter((m) => m.role === 'editor'));
    } catch (err) {
      notify(`Drafts: ${err instanceof ApiRequestError ? err.message : 'something went wrong.'}`);
    }
  }, [room.id, session.token, notify]);

  useEffect(() => {
    void load();
    // A student who joins shows up in presence first: list them without a Refresh.
    const awareness = conn.provider.awareness;
    const onPresence = () => {
      for (const state of awareness.getStates().values()) {
        const id = (state.user as { memberId?: string; agent?: unknown } | undefined)?.memberId;
        if (id && !(state.user as { agent?: unknown }).agent && !known.current.has(id)) {
          known.current.add(id);
          void load();
          return;
        }
      }
    };
    awareness.on('change', onPresence);
    return () => awareness.off('change', onPresence);
  }, [conn, load]);

  return (
    <section className="card drafts" aria-labelledby="drafts-title" data-testid="student-drafts">
      <div className="row">
        <h2 id="drafts-title" className="grow">
          Students' drafts
        </h2>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {students && students.length === 0 && <p className="muted">No students yet. Each student who joins gets a draft of their own.</p>}
      <ul className="draft-list">
        {students?.map((m) => (
          <li key={m.id} data-testid="draft-student" data-member-id={m.id}>
            <span className="grow">{m.displayName}</span>
            <button type="button" onClick={() => setOpen({ member: m, editable: false })} aria-label={`Read ${m.displayName}'s draft`} data-testid="open-draft-read">
              Read
            </button>
            <button type="button" onClick={() => setOpen({ member: m, editable: true })} aria-label={`Edit ${m.displayName}'s draft`} data-testid="open-draft-edit">
              Edit
            </button>
          </li>
        ))}
      </ul>
      {open && (
        <div className="draft-open">
          <div className="row">
            <span className="grow" />
            <button type="button" className="ghost" onClick={() => setOpen(null)}>
              Close draft
            </button>
          </div>
          <DraftEditor key={`${open.member.id}:${open.editable}`} memberId={open.member.id} studentName={open.member.displayName} editable={open.editable} />
        </div>
      )}
    </section>
  );
}
