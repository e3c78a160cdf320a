import { useEffect, useState } from 'react';
import type { AiMode, Room, RoomSettings } from '@ensemble/shared';
import { api, ApiRequestError, type ProvenanceReport } from '../lib/api';
import { percent } from '../lib/format';
import { useRoom } from './RoomContext';

const AI_MODES: Array<{ value: AiMode; label: string }> = [
  { value: 'off', label: 'Off' },
  { value: 'limited', label: 'Limited' },
  { value: 'on', label: 'On' },
];

/** Owner's dashboard: AI settings and the provenance report (who wrote what). */
export function Dashboard({ onRoom }: { onRoom: (update: (room: Room) => Room) => void }) {
  const { room, session, notify } = useRoom();
  const [report, setReport] = useState<ProvenanceReport | null>(null);
  const [loading, setLoading] = useState(false);
  const [saving, setSaving] = useState(false);

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
  const humans = report?.authors.filter((a) => a.kind === 'human') ?? [];
  const agent = report?.authors.filter((a) => a.kind === 'agent') ?? [];
  const aiChars = agent.reduce((sum, a) => sum + a.chars, 0);

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
      </section>

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
              {report.totalChars} characters in the story · AI-written {percent(aiChars, report.totalChars)}
            </p>
            <table className="prov-table" data-testid="provenance">
              <thead>
                <tr>
                  <th scope="col">Author</th>
                  <th scope="col">Characters</th>
                  <th scope="col">Share</th>
                  <th scope="col">AI accepted</th>
                  <th scope="col">AI share of their text</th>
                  <th scope="col">AI edited</th>
                  <th scope="col">AI requests</th>
                </tr>
              </thead>
              <tbody>
                {[...humans, ...agent].map((a) => {
                  const own = a.chars + (a.aiAcceptedChars ?? 0);
                  return (
                    <tr key={`${a.kind}:${a.memberId}`} className={a.kind === 'agent' ? 'agent-row' : ''}>
                      <th scope="row">
                        {a.displayName}
                        {a.kind === 'agent' && <span className="badge">AI</span>}
                      </th>
                      <td>{a.chars}</td>
                      <td>
                        <span className="bar" style={{ ['--w' as string]: percent(a.chars, report.totalChars) }} />
                        {percent(a.chars, report.totalChars)}
                      </td>
                      <td>{a.kind === 'human' ? (a.aiAcceptedChars ?? '—') : '—'}</td>
                      <td>{a.kind === 'human' && a.aiAcceptedChars !== undefined ? percent(a.aiAcceptedChars, own) : '—'}</td>
                      <td>{a.aiEditedChars ?? '—'}</td>
                      <td>{a.aiRequests ?? '—'}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </>
        )}
      </section>
    </div>
  );
}
