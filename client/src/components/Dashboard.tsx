import { useEffect, useState } from 'react';
import type { AiMode, ProvenanceReport, Room, RoomSettings } from '@ensemble/shared';
import { api, ApiRequestError, provenanceRows } from '../lib/api';
import { percent } from '../lib/format';
import { shareLink } from '../lib/session';
import { Flags } from './Flags';
import { Members } from './Members';
import { StudentDrafts } from './StudentDrafts';
import { useRoom } from './RoomContext';

const LIVE_THROTTLE_MS = 1500;

const AI_MODES: Array<{ value: AiMode; label: string }> = [
  { value: 'off', label: 'Off' },
  { value: 'limited', label: 'Limited' },
  { value: 'on', label: 'On' },
];

/** Owner's dashboard: AI settings and the provenance report (who wrote what). */
export function Dashboard({ onRoom }: { onRoom: (update: (room: Room) => Room) => void }) {
  const { room, session, notify, conn } = useRoom();
  const [report, setReport] = useState<ProvenanceReport | null>(null);
  const [loading, setLoading] = useState(false);
  const [saving, setSaving] = useState(false);
  const [viewerCode, setViewerCode] = useState<string | null>(null);

  const makeViewerCode = async () => {
    try {
      setViewerCode((await api.createJoinCode(room.id, session.token, 'viewer')).joinCode);
    } catch (err) {
      fail('Viewer link', err);
    }
  };

  const fail = (what: string, err: unknown) => notify(`${what}: ${err instanceof ApiRequestError ? err.message : 'something went wrong.'}`);

  const load = async () => {
    setLoading(true);
    try {
      setReport(await api.provenance(room.id, session.token));
    } catch (err) {
      fail('Provenance', err);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [room.id]);

  // Live: any change to the shared document (someone typing, an accept) reloads the report, at most
  // once every LIVE_THROTTLE_MS, so the owner sees writing as it happens without pressing Refresh.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let last = 0;
    const onUpdate = () => {
      if (timer) return;
      const wait = Math.max(0, last + LIVE_THROTTLE_MS - Date.now());
      timer = setTimeout(() => {
        timer = null;
        last = Date.now();
        api.provenance(room.id, session.token).then(setReport, () => undefined);
      }, Math.max(wait, 300));
    };
    conn.doc.on('update', onUpdate);
    return () => {
      conn.doc.off('update', onUpdate);
      if (timer) clearTimeout(timer);
    };
  }, [conn, room.id, session.token]);

  const change = async (patch: Partial<RoomSettings>) => {
    setSaving(true);
    const before = room.settings;
    onRoom((r) => ({ ...r, settings: { ...r.settings, ...patch } }));
    try {
      const settings = await api.updateSettings(room.id, session.token, patch);
      if (settings) onRoom((r) => ({ ...r, settings }));
    } catch (err) {
      onRoom((r) => ({ ...r, settings: before }));
      fail('Settings', err);
    } finally {
      setSaving(false);
    }
  };

  const s = room.settings;
  const rows = report ? provenanceRows(report) : [];

  return (
    <div className="dashboard" data-testid="dashboard">
      <section className="card settings" aria-labelledby="settings-title">
        <h2 id="settings-title">AI in this room</h2>
        <div className="segmented" role="radiogroup" aria-label="AI mode">
          {AI_MODES.map((m) => (
            <label key={m.value} className={s.aiMode === m.value ? 'selected' : ''}>
              <input type="radio" name="aiMode" value={m.value} checked={s.aiMode === m.value} disabled={saving} onChange={() => change({ aiMode: m.value })} />
              {m.label}
            </label>
          ))}
        </div>
        {s.aiMode === 'limited' && (
          <label className="inline">
            AI requests per student
            <input type="number" min={0} max={10000} value={s.aiUsesPerMember} onChange={(e) => change({ aiUsesPerMember: Math.max(0, Math.floor(Number(e.target.value) || 0)) })} />
          </label>
        )}
        <label className="check">
          <input type="checkbox" checked={s.autoMode} disabled={saving} onChange={(e) => change({ autoMode: e.target.checked })} />
          Auto mode: the AI offers a continuation when the authors pause
        </label>
        {s.autoMode && (
          <label className="inline">
            Pause before offering (seconds)
            <input type="number" min={2} max={600} value={s.autoPauseSec} onChange={(e) => change({ autoPauseSec: Math.min(600, Math.max(2, Math.floor(Number(e.target.value) || 8))) })} />
          </label>
        )}
        <label className="check">
          <input type="checkbox" checked={s.moderation} disabled={saving || room.kind === 'classroom'} onChange={(e) => change({ moderation: e.target.checked })} />
          Moderation filter on AI text{room.kind === 'classroom' ? ' (always on in classrooms)' : ''}
        </label>
        {room.kind === 'classroom' && (
          <label className="check">
            <input type="checkbox" checked={s.assignmentMode === true} disabled={saving} onChange={(e) => change({ assignmentMode: e.target.checked })} data-testid="assignment-mode" />
            Assignment mode: each student also writes a draft of their own, which only they and you can see
          </label>
        )}
      </section>

      {room.kind === 'classroom' && s.assignmentMode && <StudentDrafts />}

      <section className="card" aria-labelledby="invite-title">
        <h2 id="invite-title">Invite</h2>
        <p className="muted small">
          Editors join with <strong className="join-code">{room.joinCode}</strong> or {shareLink(window.location.origin, room.joinCode)}
        </p>
        <div className="row">
          <button type="button" onClick={makeViewerCode}>
            Create a watch-only code
          </button>
          {viewerCode && (
            <span data-testid="viewer-code">
              Viewers: <strong className="join-code">{viewerCode}</strong> <span className="muted small">{shareLink(window.location.origin, viewerCode)}</span>
            </span>
          )}
        </div>
      </section>

      <Members onRoom={onRoom} />

      <Flags onRoom={onRoom} />

      <section className="card provenance" aria-labelledby="prov-title">
        <div className="row">
          <h2 id="prov-title" className="grow">
            Who wrote what
          </h2>
          <button type="button" onClick={load} disabled={loading}>
            {loading ? 'Loading…' : 'Refresh'}
          </button>
        </div>
        {report && (
          <>
            <p className="muted">
              {report.totalChars} characters in the story · AI-written {percent(report.ai.markedChars, report.totalChars)} · AI text edited by people:{' '}
              {report.ai.edited.humanCharsInside} chars typed in, {report.ai.edited.agentCharsDeleted} deleted
              {report.ai.reverted?.length ? ` · AI accepts undone: ${report.ai.reverted.length} (${[...new Set(report.ai.reverted.map((r) => r.revertedByName))].join(', ')})` : ''}
            </p>
            <table className="prov-table" data-testid="provenance">
              <thead>
                <tr>
                  <th scope="col">Author</th>
                  <th scope="col">Chars written</th>
                  <th scope="col">Share of story</th>
                  <th scope="col">AI text accepted</th>
                  <th scope="col">AI share of their text</th>
                  <th scope="col">Typed into AI text</th>
                  <th scope="col">AI requests</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={`${r.kind}:${r.memberId}`} className={r.kind === 'agent' ? 'agent-row' : ''}>
                    <th scope="row">
                      {r.displayName}
                      {r.kind === 'agent' && <span className="badge">AI</span>}
                    </th>
                    <td>{r.chars}</td>
                    <td>
                      <span className="bar" style={{ ['--w' as string]: percent(r.share, 1) }} />
                      {percent(r.share, 1)}
                    </td>
                    <td>{r.kind === 'agent' ? '—' : r.aiAccepted}</td>
                    <td>{r.kind === 'agent' ? '—' : percent(r.aiShare, 1)}</td>
                    <td>{r.kind === 'agent' ? '—' : r.aiEdited}</td>
                    <td>{r.kind === 'agent' ? '—' : `${r.requests.text} text · ${r.requests.image} image · ${r.requests.accepted} accepted`}</td>
                  </tr>
                ))}
                {rows.length === 0 && (
                  <tr>
                    <td colSpan={7} className="empty">
                      Nobody has written anything yet.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </>
        )}
      </section>
    </div>
  );
}
