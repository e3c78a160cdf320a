import { useState, type FormEvent } from 'react';
import { ROOM_KINDS, type RoomKind } from '@ensemble/shared';
import { api, ApiRequestError } from '../lib/api';
import { resumeTokens } from '../lib/my-rooms';
import type { Session } from '../lib/session';
import { MyRooms } from './MyRooms';

const KIND_LABELS: Record<RoomKind, { label: string; hint: string }> = {
  'writers-room': { label: "Writers' room", hint: 'Write one story together, with the AI proposing continuations.' },
  classroom: { label: 'Classroom', hint: 'Students write; you see who wrote what and control the AI.' },
  storyboard: { label: 'Storyboard', hint: 'Plan shots as panels and let the AI sketch each one.' },
};

function messageOf(err: unknown): string {
  return err instanceof ApiRequestError ? err.message : 'Something went wrong. Try again.';
}

export function Lobby({ initialJoinCode, onEnter, notice }: { initialJoinCode: string; onEnter: (s: Session) => void; notice: string | null }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<RoomKind>('writers-room');
  const [ownerName, setOwnerName] = useState('');
  const [joinCode, setJoinCode] = useState(initialJoinCode);
  const [displayName, setDisplayName] = useState('');
  const [viewer, setViewer] = useState(false);
  const [busy, setBusy] = useState<'create' | 'join' | null>(null);
  const [createError, setCreateError] = useState<string | null>(null);
  const [joinError, setJoinError] = useState<string | null>(null);

  async function create(e: FormEvent) {
    e.preventDefault();
    setBusy('create');
    setCreateError(null);
    try {
      const res = await api.createRoom({ name: name.trim(), kind, ...(ownerName.trim() ? { displayName: ownerName.trim() } : {}) });
      onEnter({ room: res.room, member: res.member ?? { id: '', displayName: ownerName || 'Owner', role: 'owner' }, token: res.token });
    } catch (err) {
      setCreateError(messageOf(err));
    } finally {
      setBusy(null);
    }
  }

  async function join(e: FormEvent) {
    e.preventDefault();
    setBusy('join');
    setJoinError(null);
    try {
      const res = await api.joinRoom({ joinCode: joinCode.trim().toUpperCase(), displayName: displayName.trim(), ...(viewer ? { role: 'viewer' as const } : {}), resume: resumeTokens(window.localStorage) });
      onEnter({ room: res.room, member: res.member, token: res.token });
    } catch (err) {
      setJoinError(messageOf(err));
    } finally {
      setBusy(null);
    }
  }

  return (
    <main className="lobby">
      <header className="lobby-head">
        <h1 className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Ensemble
        </h1>
        <p className="tagline">Write, plan and storyboard together — with an AI collaborator the whole room can see.</p>
      </header>
      {notice && (
        <p className="notice notice-info" role="status">
          {notice}
        </p>
      )}
      <MyRooms onEnter={onEnter} />
      <div className="lobby-cards">
        <form className="card" onSubmit={join} aria-labelledby="join-title">
          <h2 id="join-title">Join a room</h2>
          <label>
            Join code
            <input
              name="joinCode"
              value={joinCode}
              onChange={(e) => setJoinCode(e.target.value.toUpperCase())}
              placeholder="e.g. K7M2QXRA"
              autoComplete="off"
              spellCheck={false}
              required
              pattern="[A-Za-z0-9]{6,12}"
              title="6 to 12 letters or digits"
              autoFocus={!!initialJoinCode}
            />
          </label>
          <label>
            Your name
            <input name="displayName" value={displayName} onChange={(e) => setDisplayName(e.target.value)} maxLength={60} required autoComplete="nickname" />
          </label>
          <label className="check">
            <input type="checkbox" name="viewer" checked={viewer} onChange={(e) => setViewer(e.target.checked)} />
            Join as a viewer (watch only)
          </label>
          <SubmitRow error={joinError} disabled={busy !== null} label={busy === 'join' ? 'Joining…' : 'Join'} />
        </form>

        <form className="card" onSubmit={create} aria-labelledby="create-title">
          <h2 id="create-title">Start a room</h2>
          <label>
            Room name
            <input name="roomName" value={name} onChange={(e) => setName(e.target.value)} maxLength={120} required placeholder="The lighthouse keeper" />
          </label>
          <label>
            Your name
            <input name="ownerName" value={ownerName} onChange={(e) => setOwnerName(e.target.value)} maxLength={60} placeholder="Owner" autoComplete="nickname" />
          </label>
          <fieldset className="kinds">
            <legend>Kind of room</legend>
            {ROOM_KINDS.map((k) => (
              <label key={k} className={`kind ${kind === k ? 'selected' : ''}`}>
                <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} />
                <span>
                  <strong>{KIND_LABELS[k].label}</strong>
                  <small>{KIND_LABELS[k].hint}</small>
                </span>
              </label>
            ))}
          </fieldset>
          <SubmitRow error={createError} disabled={busy !== null} label={busy === 'create' ? 'Creating…' : 'Create room'} />
        </form>
      </div>
    </main>
  );
}

/** A form's error (announced) and its submit button. */
function SubmitRow({ error, disabled, label }: { error: string | null; disabled: boolean; label: string }) {
  return (
    <>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="primary" disabled={disabled}>
        {label}
      </button>
    </>
  );
}
