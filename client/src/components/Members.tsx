import { useEffect, useState } from 'react';
import type { Member, Room } from '@ensemble/shared';
import { api, ApiRequestError } from '../lib/api';
import { useRoom } from './RoomContext';

const ROLE_LABEL: Record<Member['role'], string> = { owner: 'Owner', editor: 'Editor', viewer: 'Viewer' };

/**
 * Owner's member list: who is in the room, a Remove button that revokes a member at once, and
 * rotation of the join codes (a leaked code stops working; members already in stay).
 */
export function Members({ onRoom }: { onRoom?: (update: (room: Room) => Room) => void }) {
  const { room, session, notify } = useRoom();
  const [members, setMembers] = useState<Member[] | null>(null);
  const [removing, setRemoving] = useState<string | null>(null);
  const [rotatedViewerCode, setRotatedViewerCode] = useState<string | null>(null);

  const fail = (what: string, err: unknown) => notify(`${what}: ${err instanceof ApiRequestError ? err.message : 'something went wrong.'}`);

  const load = async () => {
    try {
      setMembers(await api.listMembers(room.id, session.token));
    } catch (err) {
      fail('Members', err);
    }
  };
  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [room.id]);

  const remove = async (member: Member) => {
    // Removal cannot be undone: the person has to join again with a code, as a new member.
    if (!window.confirm(`Remove ${member.displayName} from this room? They are disconnected now and can only come back with a join code.`)) return;
    setRemoving(member.id);
    try {
      await api.removeMember(room.id, session.token, member.id);
      setMembers((list) => list?.filter((m) => m.id !== member.id) ?? null);
      notify(`${member.displayName} was removed from the room.`);
    } catch (err) {
      fail('Remove member', err);
    } finally {
      setRemoving(null);
    }
  };

  const rotate = async (role: 'editor' | 'viewer') => {
    const what = role === 'editor' ? (room.kind === 'classroom' ? 'student' : 'editor') : 'viewer';
    if (!window.confirm(`Replace the ${what} join code? The current one stops working at once; people already in the room stay.`)) return;
    try {
      const { joinCode } = await api.rotateJoinCode(room.id, session.token, role);
      if (role === 'editor') onRoom?.((r) => ({ ...r, joinCode }));
      else setRotatedViewerCode(joinCode);
      notify(`New ${what} code: ${joinCode}. The old one no longer works.`, 'info');
    } catch (err) {
      fail('New join code', err);
    }
  };

  return (
    <section className="card" aria-labelledby="members-title">
      <div className="row">
        <h2 id="members-title" className="grow">
          {room.kind === 'classroom' ? 'Students' : 'Members'}
        </h2>
        <button type="button" onClick={load}>
          Refresh
        </button>
      </div>
      <div className="row" data-testid="rotate-codes">
        <span className="grow muted small">
          Code: <strong className="join-code" data-testid="owner-join-code">{room.joinCode}</strong>
          {rotatedViewerCode && (
            <>
              {' '}· viewers: <strong className="join-code" data-testid="rotated-viewer-code">{rotatedViewerCode}</strong>
            </>
          )}
        </span>
        <button type="button" className="small" onClick={() => void rotate('editor')}>
          New {room.kind === 'classroom' ? 'student' : 'editor'} code
        </button>
        <button type="button" className="small" onClick={() => void rotate('viewer')}>
          New viewer code
        </button>
      </div>
      {members && (
        <table className="prov-table" data-testid="members">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr key={m.id}>
                <th scope="row">
                  {m.displayName}
                  {m.id === session.member.id && <span className="muted small"> (you)</span>}
                </th>
                <td>{ROLE_LABEL[m.role]}</td>
                <td>
                  {m.role !== 'owner' && (
                    <button type="button" className="small icon-button danger" disabled={removing !== null} onClick={() => void remove(m)} aria-label={`Remove ${m.displayName}`}>
                      {removing === m.id ? 'Removing…' : 'Remove'}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
