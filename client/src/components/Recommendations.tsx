import { useState } from 'react';
import { X } from 'lucide-react';
import type { Suggestion } from '@ensemble/shared';
import { selectionAnchors } from '../lib/anchor';
import { describeAckError, excerpt } from '../lib/format';
import { useRoom } from './RoomContext';

export function Recommendations() {
  const { conn, editor, ask, notify, canEdit } = useRoom();
  const [suggestions, setSuggestions] = useState<Suggestion[] | null>(null);
  const [loading, setLoading] = useState(false);

  const load = async () => {
    setLoading(true);
    const anchors = editor ? selectionAnchors(editor.state) : null;
    const res = await conn.call<{ suggestions: Suggestion[] }, 'recommend:next'>('recommend:next', anchors ? { anchor: anchors.anchor } : {});
    setLoading(false);
    if (!res.ok) {
      notify(`What next: ${describeAckError(res.error)}`);
      return;
    }
    setSuggestions(res.suggestions ?? []);
  };

  const use = async (s: Suggestion) => {
    const id = await ask({ mode: 'continue', instruction: s.instruction, alternatives: 2 });
    if (id) setSuggestions((list) => list?.filter((x) => x.id !== s.id) ?? null);
  };

  const dismiss = async (s: Suggestion) => {
    setSuggestions((list) => list?.filter((x) => x.id !== s.id) ?? null);
    const res = await conn.call('recommend:dismiss', { suggestionId: s.id });
    if (!res.ok) notify(`Dismiss: ${describeAckError(res.error)}`);
  };

  const moves = suggestions?.filter((s) => s.kind === 'craft-move') ?? [];
  const passages = suggestions?.filter((s) => s.kind === 'related-passage') ?? [];

  return (
    <details className="panel" open>
      <summary>
        <h2>What next?</h2>
      </summary>
      <div className="row">
        <button type="button" onClick={load} disabled={loading} data-testid="recommend-next">
          {loading ? 'Thinking…' : suggestions ? 'Refresh suggestions' : 'Suggest what comes next'}
        </button>
      </div>
      {suggestions && suggestions.length === 0 && <p className="empty">No suggestions right now.</p>}
      {moves.length > 0 && (
        <ul className="suggestions" aria-label="Craft moves">
          {moves.map((s) => (
            <li key={s.id} className="suggestion">
              <button type="button" className="suggestion-main" onClick={() => use(s)} disabled={!canEdit} title={canEdit ? `Ask the AI: ${s.instruction}` : 'Viewers cannot ask the AI'}>
                <strong>{s.title}</strong>
                <small>{excerpt(s.instruction, 90)}</small>
              </button>
              <button type="button" className="icon-button" aria-label={`Dismiss suggestion ${s.title}`} onClick={() => dismiss(s)}>
                <X size={16} aria-hidden="true" />
              </button>
            </li>
          ))}
        </ul>
      )}
      {passages.length > 0 && (
        <>
          <h3>Related passages</h3>
          <ul className="suggestions" aria-label="Related passages">
            {passages.map((s) => (
              <li key={s.id} className="suggestion passage">
                <button type="button" className="suggestion-main" onClick={() => use(s)} disabled={!canEdit}>
                  <strong>{s.title}</strong>
                  {s.excerpt && <q>{excerpt(s.excerpt, 160)}</q>}
                  {s.source && <small>from {s.source.roomName}</small>}
                </button>
                <button type="button" className="icon-button" aria-label={`Dismiss passage ${s.title}`} onClick={() => dismiss(s)}>
                  <X size={16} aria-hidden="true" />
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </details>
  );
}
