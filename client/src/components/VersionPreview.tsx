import { useEffect, useRef, useState } from 'react';
import type { VersionInfo, VersionPreviewResponse } from '@ensemble/shared';
import { api, ApiRequestError } from '../lib/api';
import { diffParagraphsForDisplay } from '../lib/diff-lines';
import { formatTime } from '../lib/format';
import { useRoom } from './RoomContext';

/**
 * A read-only look at one version: the word diff from the current story to it (what a restore
 * would change), or the version's text alone, with Restore for editors.
 */
export function VersionPreview({ version, onClose, onRestore, busy }: { version: VersionInfo; onClose: () => void; onRestore: (v: VersionInfo) => void; busy: boolean }) {
  const { room, session, canEdit } = useRoom();
  const [preview, setPreview] = useState<VersionPreviewResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [showChanges, setShowChanges] = useState(true);
  const dialog = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    const el = dialog.current;
    if (el && !el.open) el.showModal();
  }, []);

  useEffect(() => {
    let live = true;
    setPreview(null);
    setError(null);
    api.previewVersion(room.id, session.token, version.id).then(
      (p) => live && setPreview(p),
      (err: unknown) => live && setError(err instanceof ApiRequestError ? err.message : 'The preview could not be loaded.'),
    );
    return () => {
      live = false;
    };
  }, [room.id, session.token, version.id]);

  return (
    <dialog ref={dialog} className="version-preview" aria-label={`Preview of version ${version.name}`} data-testid="version-preview" onClose={onClose}>
      <header className="version-preview-head">
        <div>
          <h2>{version.name}</h2>
          <small className="muted">
            {version.kind === 'auto' ? 'Automatic · ' : ''}
            {formatTime(version.createdAt)}
          </small>
        </div>
        <label className="check">
          <input type="checkbox" checked={showChanges} onChange={(e) => setShowChanges(e.target.checked)} />
          Highlight changes
        </label>
      </header>
      {error ? (
        <p className="notice-error">{error}</p>
      ) : !preview ? (
        <p className="muted">Loading…</p>
      ) : showChanges ? (
        <>
          <p className="muted small" data-testid="diff-summary">
            {preview.changed ? (
              <>
                Restoring brings back <ins>green</ins> text and removes <del>red</del> text.
              </>
            ) : (
              'Same story as now: restoring would change no text.'
            )}
          </p>
          <div className="version-text" data-testid="version-diff">
            {diffParagraphsForDisplay(preview.diff).map((pieces, i) => (
              <p key={i}>
                {pieces.map((piece, j) =>
                  piece.op === 'insert' ? <ins key={j}>{piece.text}</ins> : piece.op === 'delete' ? <del key={j}>{piece.text}</del> : <span key={j}>{piece.text}</span>,
                )}
              </p>
            ))}
          </div>
        </>
      ) : (
        <div className="version-text" data-testid="version-text">
          {preview.paragraphs.length === 0 ? <p className="muted">The story was empty.</p> : preview.paragraphs.map((text, i) => <p key={i}>{text}</p>)}
        </div>
      )}
      <footer className="row version-preview-actions">
        {canEdit && (
          <button type="button" className="primary" disabled={busy || !preview} onClick={() => onRestore(version)}>
            Restore this version
          </button>
        )}
        <button type="button" onClick={() => dialog.current?.close()}>
          Close
        </button>
      </footer>
    </dialog>
  );
}
