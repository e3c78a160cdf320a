import { useEffect, useState } from 'react';
import { ArrowLeft, ArrowRight, Sparkles, Trash2 } from 'lucide-react';
import { imageUrl, panelsOf, SHOT_TYPES, type PanelFields, type ProposalInfo } from '@ensemble/shared';
import { describeAckError } from '../lib/format';
import { addPanel, clampDuration, deletePanel, isShotType, listPanels, movePanel, SHOT_LABELS, updatePanel } from '../lib/panels';
import { proposalsOf, type ProposalView } from '../lib/proposals';
import { AuthImage } from './AuthImage';
import { useRoom } from './RoomContext';

export function Storyboard() {
  const { conn, canEdit } = useRoom();
  const [panels, setPanels] = useState<PanelFields[]>(() => listPanels(conn.doc));
  const [dragging, setDragging] = useState<string | null>(null);

  useEffect(() => {
    const array = panelsOf(conn.doc);
    const update = () => setPanels(listPanels(conn.doc));
    update();
    array.observeDeep(update);
    return () => array.unobserveDeep(update);
  }, [conn]);

  return (
    <div className="storyboard" data-testid="storyboard">
      <div className="storyboard-head">
        <h2>Storyboard</h2>
        <span className="muted">
          {panels.length} panel{panels.length === 1 ? '' : 's'} · {panels.reduce((s, p) => s + p.durationSec, 0).toFixed(1)} s
        </span>
        {canEdit && (
          <button type="button" className="primary" onClick={() => addPanel(conn.doc)} data-testid="add-panel">
            + Add panel
          </button>
        )}
      </div>
      {panels.length === 0 && <p className="empty">No panels yet. {canEdit ? 'Add one, write a caption, and ask the AI for a picture.' : ''}</p>}
      <ol className="panel-grid">
        {panels.map((panel, index) => (
          <li
            key={panel.id}
            className={`sb-panel ${dragging === panel.id ? 'dragging' : ''}`}
            draggable={canEdit}
            onDragStart={(e) => {
              setDragging(panel.id);
              e.dataTransfer.setData('text/x-ensemble-panel', panel.id);
              e.dataTransfer.effectAllowed = 'move';
            }}
            onDragEnd={() => setDragging(null)}
            onDragOver={(e) => {
              if (dragging) e.preventDefault();
            }}
            onDrop={(e) => {
              e.preventDefault();
              const id = e.dataTransfer.getData('text/x-ensemble-panel');
              if (id && id !== panel.id) movePanel(conn.doc, id, index);
              setDragging(null);
            }}
            data-testid="sb-panel"
            data-panel-id={panel.id}
            aria-label={`Panel ${index + 1}`}
          >
            <PanelCard panel={panel} index={index} count={panels.length} />
          </li>
        ))}
      </ol>
    </div>
  );
}

function PanelCard({ panel, index, count }: { panel: PanelFields; index: number; count: number }) {
  const { conn, canEdit, room, proposals, dispatch, notify, nameOf } = useRoom();
  const [caption, setCaption] = useState(panel.caption);
  const [editing, setEditing] = useState(false);
  const [imageCount, setImageCount] = useImageCount();
  const [asking, setAsking] = useState(false);
  useEffect(() => {
    if (!editing) setCaption(panel.caption);
  }, [panel.caption, editing]);

  const imageProposals: ProposalView[] = proposalsOf(proposals, (v) => v.info.kind === 'image' && v.info.panelId === panel.id);
  const latest = imageProposals[0];

  const requestImages = async () => {
    if (caption !== panel.caption) updatePanel(conn.doc, panel.id, { caption });
    const prompt = caption.trim();
    if (!prompt) {
      notify('Write a caption first: the AI draws the panel from it.');
      return;
    }
    setAsking(true);
    const res = await conn.call<{ proposal: ProposalInfo }, 'image:request'>('image:request', { panelId: panel.id, prompt, count: imageCount }, 60000);
    setAsking(false);
    if (!res.ok) notify(`Images: ${describeAckError(res.error)}`);
    else if (res.proposal) dispatch({ type: 'started', proposal: res.proposal });
  };

  const accept = async (proposalId: string, alternative: number) => {
    const res = await conn.call('image:accept', { proposalId, alternative }, 30000);
    if (!res.ok) notify(`Accept image: ${describeAckError(res.error)}`);
  };

  return (
    <div className="sb-card">
      <div className="sb-image">
        {panel.imageId ? (
          <AuthImage src={imageUrl(room.id, panel.imageId)} alt={`Panel ${index + 1}: ${panel.caption || 'no caption'}`} testId="panel-image" />
        ) : (
          <div className="img-placeholder" aria-hidden="true">
            <span>{SHOT_LABELS[panel.shotType]}</span>
          </div>
        )}
        <span className="sb-number">{index + 1}</span>
      </div>
      <label>
        <span className="sr-only">Caption of panel {index + 1}</span>
        <textarea
          className="sb-caption"
          value={caption}
          placeholder={canEdit ? 'Caption: what we see…' : 'No caption'}
          readOnly={!canEdit}
          rows={2}
          onFocus={() => setEditing(true)}
          onChange={(e) => setCaption(e.target.value)}
          onBlur={() => {
            setEditing(false);
            if (caption !== panel.caption) updatePanel(conn.doc, panel.id, { caption });
          }}
          data-testid="panel-caption"
        />
      </label>
      <div className="row sb-fields">
        <label className="inline">
          <span className="sr-only">Shot type of panel {index + 1}</span>
          <select value={panel.shotType} disabled={!canEdit} onChange={(e) => isShotType(e.target.value) && updatePanel(conn.doc, panel.id, { shotType: e.target.value })}>
            {SHOT_TYPES.map((t) => (
              <option key={t} value={t}>
                {SHOT_LABELS[t]}
              </option>
            ))}
          </select>
        </label>
        <label className="inline duration">
          <span className="sr-only">Duration of panel {index + 1} in seconds</span>
          <input
            type="number"
            min={0.5}
            max={120}
            step={0.5}
            value={panel.durationSec}
            readOnly={!canEdit}
            onChange={(e) => updatePanel(conn.doc, panel.id, { durationSec: clampDuration(Number(e.target.value)) })}
          />
          <span aria-hidden="true">s</span>
        </label>
      </div>
      {canEdit && (
        <div className="row sb-actions">
          <button type="button" className="icon-button" disabled={index === 0} onClick={() => movePanel(conn.doc, panel.id, index - 1)} aria-label={`Move panel ${index + 1} earlier`}>
            <ArrowLeft size={16} aria-hidden="true" />
          </button>
          <button type="button" className="icon-button" disabled={index === count - 1} onClick={() => movePanel(conn.doc, panel.id, index + 1)} aria-label={`Move panel ${index + 1} later`}>
            <ArrowRight size={16} aria-hidden="true" />
          </button>
          <button type="button" className="icon-button danger" onClick={() => window.confirm(`Delete panel ${index + 1}?`) && deletePanel(conn.doc, panel.id)} aria-label={`Delete panel ${index + 1}`}>
            <Trash2 size={16} aria-hidden="true" />
          </button>
        </div>
      )}
      {canEdit && (
        <div className="row sb-ask">
          <button type="button" onClick={requestImages} disabled={asking} data-testid="request-images" className="grow">
            {asking ? 'Asking…' : (<><Sparkles size={14} aria-hidden="true" /> AI images</>)}
          </button>
          <label className="inline">
            <span className="sr-only">Number of images to propose for panel {index + 1}</span>
            <select value={imageCount} onChange={(e) => setImageCount(Number(e.target.value))}>
              {[1, 2, 3, 4].map((n) => (
                <option key={n} value={n}>
                  ×{n}
                </option>
              ))}
            </select>
          </label>
        </div>
      )}
      {latest && (
        <div className="thumbs" data-testid="image-proposals" data-status={latest.status}>
          {latest.alternatives.length === 0 && latest.status !== 'failed' && <p className="muted small">Drawing…</p>}
          {latest.error && <p className="form-error">{describeAckError(latest.error)}</p>}
          {latest.alternatives.map((alt) =>
            alt.image ? (
              <figure key={alt.index} className={`thumb ${latest.acceptedAlternative === alt.index ? 'accepted' : ''}`}>
                <AuthImage src={alt.image.url || imageUrl(room.id, alt.image.imageId)} alt={`Proposed image ${alt.index + 1} for panel ${index + 1}`} testId="image-thumb" />
                {latest.status === 'accepted' ? (
                  latest.acceptedAlternative === alt.index && <figcaption>accepted{latest.acceptedBy ? ` by ${nameOf(latest.acceptedBy)}` : ''}</figcaption>
                ) : (
                  canEdit && (
                    <button type="button" className="small" onClick={() => accept(latest.info.id, alt.index)} data-testid="accept-image" aria-label={`Use image ${alt.index + 1} for panel ${index + 1}`}>
                      Use
                    </button>
                  )
                )}
              </figure>
            ) : null,
          )}
        </div>
      )}
    </div>
  );
}

const IMAGE_COUNT_KEY = 'ensemble.imageCount';

/** How many images to ask for: the last choice, kept across requests, panels and reloads. */
function useImageCount(): [number, (n: number) => void] {
  const [count, setCount] = useState(() => {
    const saved = Number(window.localStorage.getItem(IMAGE_COUNT_KEY));
    return saved >= 1 && saved <= 4 ? saved : 2;
  });
  const set = (n: number) => {
    setCount(n);
    window.localStorage.setItem(IMAGE_COUNT_KEY, String(n));
  };
  return [count, set];
}
