import { useEffect, useRef, useState } from 'react';
import { EXPORT_LABELS, exportFormatsFor, panelsOf, type ExportFormat } from '@ensemble/shared';
import { api, ApiRequestError } from '../lib/api';
import { useRoom } from './RoomContext';

/** Saves a blob under `filename` through a temporary object URL (the download needed a token header). */
function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  // The click starts the download synchronously; revoke on the next turn, once it has the data.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** Whether the room's document holds storyboard panels (kept live: panels come and go). */
function useHasPanels(): boolean {
  const { conn } = useRoom();
  const [has, setHas] = useState(() => panelsOf(conn.doc).length > 0);
  useEffect(() => {
    const panels = panelsOf(conn.doc);
    const update = () => setHas(panels.length > 0);
    update();
    panels.observe(update);
    return () => panels.unobserve(update);
  }, [conn]);
  return has;
}

/** The header's "Export" menu: the downloads this member may take, fetched with their token. */
export function ExportMenu() {
  const { session, room, notify } = useRoom();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState<ExportFormat | null>(null);
  const root = useRef<HTMLDivElement>(null);
  const hasStoryboard = useHasPanels();
  const formats = exportFormatsFor({ kind: room.kind, role: session.member.role, hasStoryboard });

  useEffect(() => {
    if (!open) return;
    const onPointer = (e: PointerEvent) => {
      if (!root.current?.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setOpen(false);
    };
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  const download = async (format: ExportFormat) => {
    setBusy(format);
    try {
      const { blob, filename } = await api.exportFile(room.id, session.token, format);
      saveBlob(blob, filename);
      setOpen(false);
    } catch (err) {
      notify(err instanceof ApiRequestError ? err.message : `The export failed: ${String(err)}`);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="export-menu" ref={root}>
      <button type="button" aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen((o) => !o)} data-testid="export-button">
        Export
      </button>
      {open && (
        <ul className="export-list" role="menu" aria-label="Export" data-testid="export-menu">
          {formats.map((format) => (
            <li key={format} role="none">
              <button type="button" role="menuitem" disabled={busy !== null} onClick={() => void download(format)} data-testid={`export-${format}`}>
                {busy === format ? 'Preparing…' : EXPORT_LABELS[format]}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
