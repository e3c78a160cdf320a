import { useState } from 'react';
import { X } from 'lucide-react';
import { forgetRoom, listMyRooms, type MyRoom } from '../lib/my-rooms';
import type { Session } from '../lib/session';

const KIND: Record<MyRoom['room']['kind'], string> = { 'writers-room': "Writers' room", classroom: 'Classroom', storyboard: 'Storyboard' };

function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The rooms this browser has joined: open one to continue as the same member, or drop it from the list. */
export function MyRooms({ onEnter }: { onEnter: (s: Session) => void }) {
  const [rooms, setRooms] = useState(() => listMyRooms(window.localStorage));
  if (rooms.length === 0) return null;
  const remove = (id: string) => {
    forgetRoom(window.localStorage, id);
    setRooms(listMyRooms(window.localStorage));
  };
  return (
    <section className="card my-rooms" aria-labelledby="my-rooms-title" data-testid="my-rooms">
      <h2 id="my-rooms-title">My rooms</h2>
      <ul>
        {rooms.map((r) => (
          <li key={r.room.id} className="my-room" data-testid="my-room">
            <button type="button" className="my-room-open" onClick={() => onEnter({ room: r.room, member: r.member, token: r.token })} aria-label={`Open ${r.room.name} as ${r.member.displayName}`}>
              <strong>{r.room.name}</strong>
              <small>
                {KIND[r.room.kind]} · {r.member.displayName} ({r.member.role}) · last opened {when(r.lastOpened)}
              </small>
            </button>
            <button type="button" className="icon-button" aria-label={`Remove ${r.room.name} from my rooms`} title="Remove from this list (you stay a member)" onClick={() => remove(r.room.id)}>
              <X size={16} aria-hidden="true" />
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
