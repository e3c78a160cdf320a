import { useEffect, useState, type FormEvent } from 'react';
import { AUTO_VERSION_NAMES, SERVER_VERSION_AUTHOR, type VersionInfo } from '@ensemble/shared';
import { api, ApiRequestError } from '../lib/api';
import { formatTime } from '../lib/format';
import { useRoom } from './RoomContext';
import { VersionPreview } from './VersionPreview';

export function Versions() {
  const { room, session, canEdit, notify } = useRoom();
  const [versions, setVersions] = useState<VersionInfo[] | null>(null);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [previewing, setPreviewing] = useState<VersionInfo | null>(null);

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

  /** Runs one change with the buttons disabled, then reloads the list; false when it failed. */
  const change = async (action: () => Promise<void>): Promise<boolean> => {
    setBusy(true);
    try {
      await action();
      return true;
    } catch (err) {
      fail(err);
      return false;
    } finally {
      setBusy(false);
      await refresh();
    }
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) return;
    await change(async () => {
      await api.saveVersion(room.id, session.token, trimmed);
      setName('');
      notify(`Saved version “${trimmed}”.`, 'info');
    });
  };

  const restore = async (v: VersionInfo) => {
    const before = AUTO_VERSION_NAMES.beforeRestore(v.name);
    if (!window.confirm(`Restore “${v.name}”? Everyone in the room will see the story as it was then. The current story is kept as the version “${before}”.`)) return;
    const restored = await change(async () => {
      await api.restoreVersion(room.id, session.token, v.id);
      notify(`Restored “${v.name}”. The story before it is saved as “${before}”.`, 'info');
    });
    if (restored) setPreviewing(null);
  };

  const rename = (v: VersionInfo, next: string) =>
    change(async () => {
      await api.renameVersion(room.id, session.token, v.id, next);
    });

  const remove = async (v: VersionInfo) => {
    if (!window.confirm(`Delete the version “${v.name}”? This cannot be undone.`)) return;
    await change(async () => {
      await api.deleteVersion(room.id, session.token, v.id);
      notify(`Deleted version “${v.name}”.`, 'info');
    });
  };

  return (
    <>
      {/* Opening the panel reloads the list: others (and the snapshot schedule) add versions too. */}
      <details className="panel versions" onToggle={(e) => e.currentTarget.open && void refresh()}>
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
              <VersionRow key={v.id} version={v} busy={busy} onPreview={setPreviewing} onRestore={restore} onRename={rename} onDelete={remove} />
            ))}
          </ul>
        )}
        <button type="button" className="ghost small" onClick={refresh}>
          Refresh list
        </button>
      </details>
      {/* Outside the <details>: its closed content is not rendered. */}
      {previewing && <VersionPreview version={previewing} busy={busy} onClose={() => setPreviewing(null)} onRestore={restore} />}
    </>
  );
}

interface VersionRowProps {
  version: VersionInfo;
  busy: boolean;
  onPreview: (v: VersionInfo) => void;
  onRestore: (v: VersionInfo) => void;
  onRename: (v: VersionInfo, name: string) => Promise<boolean>;
  onDelete: (v: VersionInfo) => void;
}

/** One version: its name opens the preview; editors rename it in place, delete or restore it. */
function VersionRow({ version: v, busy, onPreview, onRestore, onRename, onDelete }: VersionRowProps) {
  const { canEdit, nameOf } = useRoom();
  const [editing, setEditing] = useState<string | null>(null);

  const submitRename = async (e: FormEvent) => {
    e.preventDefault();
    const next = editing?.trim() ?? '';
    if (!next || next === v.name) return setEditing(null);
    if (await onRename(v, next)) setEditing(null);
  };

  const by = v.kind === 'auto' && v.createdBy === SERVER_VERSION_AUTHOR ? 'on schedule' : nameOf(v.createdBy);
  return (
    <li className={v.kind === 'auto' ? 'auto' : undefined} data-testid="version" data-kind={v.kind}>
      {editing !== null ? (
        <form className="row grow" onSubmit={submitRename}>
          <label className="grow">
            <span className="sr-only">New name for {v.name}</span>
            <input
              autoFocus
              value={editing}
              maxLength={120}
              onChange={(e) => setEditing(e.target.value)}
              onKeyDown={(e) => e.key === 'Escape' && setEditing(null)}
            />
          </label>
          <button type="submit" className="small" disabled={busy || !editing.trim()}>
            Save name
          </button>
          <button type="button" className="ghost small" onClick={() => setEditing(null)}>
            Cancel
          </button>
        </form>
      ) : (
        <>
          <button type="button" className="version-open" onClick={() => onPreview(v)} aria-label={`Preview version ${v.name}`}>
            <strong>{v.name}</strong>
            {v.kind === 'auto' && <span className="badge">auto</span>}
            <small className="muted">
              {' '}
              {formatTime(v.createdAt)} · {by}
            </small>
          </button>
          {canEdit && (
            <span className="version-actions">
              <button type="button" className="ghost small" disabled={busy} onClick={() => setEditing(v.name)} aria-label={`Rename version ${v.name}`}>
                Rename
              </button>
              <button type="button" className="ghost small" disabled={busy} onClick={() => onDelete(v)} aria-label={`Delete version ${v.name}`}>
                Delete
              </button>
              <button type="button" className="ghost small" disabled={busy} onClick={() => onRestore(v)} aria-label={`Restore version ${v.name}`}>
                Restore
              </button>
            </span>
          )}
        </>
      )}
    </li>
  );
}
