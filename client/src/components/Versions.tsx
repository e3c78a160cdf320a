import { useEffect, useState, type FormEvent } from 'react';
import type { VersionInfo } from '@ensemble/shared';
import { api, ApiRequestError } from '../lib/api';
import { formatTime } from '../lib/format';
import { useRoom } from './RoomContext';

export function Versions() {
  const { room, session, canEdit, notify, nameOf } = useRoom();
  const [versions, setVersions] = useState<VersionInfo[] | null>(null);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);

  const fail = (err: unknown) => notify(err instanceof ApiRequestError ? `Versions: ${err.message}` : 'Versions: something went wrong.');

  const refresh = async () => {
    try {
      setVersions(await api.listVersions(room.id, session.token));
    } catch (err) {
      fail(err);
    }
  };
  useEffect(() => {
    void refresh();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [room.id]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return;
    setBusy(true);
    try {
      await api.saveVersion(room.id, session.token, name.trim());
      setName('');
      notify(`Saved version “${name.trim()}”.`, 'info');
      await refresh();
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  };

  const restore = async (v: VersionInfo) => {
    if (!window.confirm(`Restore “${v.name}”? Everyone in the room will see the story as it was then (the current state stays in history only if you save it first).`)) return;
    setBusy(true);
    try {
      await api.restoreVersion(room.id, session.token, v.id);
      notify(`Restored “${v.name}”.`, 'info');
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <details className="panel versions">
      <summary>
        <h2>Versions</h2>
      </summary>
      {canEdit && (
        <form className="row" onSubmit={save}>
          <label className="grow">
            <span className="sr-only">Version name</span>
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="Name this version" maxLength={120} />
          </label>
          <button type="submit" disabled={busy || !name.trim()}>
            Save
          </button>
        </form>
      )}
      {versions === null ? (
        <p className="muted">Loading…</p>
      ) : versions.length === 0 ? (
        <p className="empty">No saved versions yet.</p>
      ) : (
        <ul className="version-list">
          {versions.map((v) => (
            <li key={v.id}>
              <span>
                <strong>{v.name}</strong>
                <small className="muted">
                  {' '}
                  {formatTime(v.createdAt)} · {nameOf(v.createdBy)}
                </small>
              </span>
              {canEdit && (
                <button type="button" className="ghost small" disabled={busy} onClick={() => restore(v)} aria-label={`Restore version ${v.name}`}>
                  Restore
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <button type="button" className="ghost small" onClick={refresh}>
        Refresh list
      </button>
    </details>
  );
}
