import { useCallback, useEffect, useId, useState, type FormEvent, type KeyboardEvent } from 'react';
import { ThumbsDown, ThumbsUp } from 'lucide-react';
import { PROPOSAL_MODES, type ProposalInfo, type ProposalMode, type VoteTally } from '@ensemble/shared';
import { previewKey, type PreviewState } from '../collab/preview';
import { describeAckError, MODE_LABELS, statusLabel } from '../lib/format';
import { canAcceptAlternative, isStreaming, proposalsOf, type AlternativeView, type ProposalView } from '../lib/proposals';
import { revertProposal } from '../lib/revert';
import { foldSettled } from '../lib/proposal-list';
import { applyRanking, rankForYou, rankLabel } from '../lib/ranking';
import { ModelBadge } from './ModelBadge';
import { RequestsLeft } from './RequestsLeft';
import { useRoom } from './RoomContext';

const MODE_HINTS: Record<ProposalMode, string> = {
  continue: 'Write what comes next from the cursor',
  rewrite: 'Rewrite the selected passage',
  describe: 'Add description at the cursor',
  brainstorm: 'Ideas for where the story could go',
};

export function AiPanel() {
  const { canEdit, isOwner, ask, proposals, shortcut, room } = useRoom();
  const [mode, setMode] = useState<ProposalMode>('continue');
  const [instruction, setInstruction] = useState('');
  const [alternatives, setAlternatives] = useState(3);
  const [busy, setBusy] = useState(false);
  const formId = useId();

  const submit = useCallback(async () => {
    if (busy) return;
    setBusy(true);
    try {
      const id = await ask({ mode, instruction, alternatives });
      if (id) setInstruction('');
    } finally {
      setBusy(false);
    }
  }, [ask, mode, instruction, alternatives, busy]);

  useEffect(() => {
    shortcut.current = () => void submit();
  }, [shortcut, submit]);

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void submit();
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void submit();
    }
  };

  const textProposals = proposalsOf(proposals, (v) => v.info.kind === 'text');
  const [showOlder, setShowOlder] = useState(false);
  const { shown, folded } = foldSettled(textProposals, (v) => !isStreaming(v));
  const aiOff = room.settings.aiMode === 'off';

  return (
    <section className="panel ai-panel" aria-labelledby={`${formId}-title`} data-testid="ai-panel">
      <h2 id={`${formId}-title`}>AI collaborator</h2>
      <ModelBadge />
      {aiOff && <p className="muted">The owner has turned the AI off in this room.</p>}
      {canEdit ? (
        <form className="ask-form" onSubmit={onSubmit} onKeyDown={onKeyDown} aria-label="Ask the AI">
          <div className="segmented" role="radiogroup" aria-label="What should the AI do?">
            {PROPOSAL_MODES.map((m) => (
              <label key={m} className={mode === m ? 'selected' : ''} title={MODE_HINTS[m]}>
                <input type="radio" name={`${formId}-mode`} value={m} checked={mode === m} onChange={() => setMode(m)} />
                {MODE_LABELS[m]}
              </label>
            ))}
          </div>
          <label>
            <span>
              Instruction <span className="muted">(optional)</span>
            </span>
            <input
              value={instruction}
              onChange={(e) => setInstruction(e.target.value)}
              maxLength={500}
              placeholder="e.g. make it tense, end on a question"
              data-testid="ai-instruction"
            />
          </label>
          <div className="row">
            <label className="inline">
              Alternatives
              <select value={alternatives} onChange={(e) => setAlternatives(Number(e.target.value))} data-testid="ai-alternatives">
                {[1, 2, 3, 4].map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </label>
            <button type="submit" className="primary" disabled={busy || aiOff} aria-keyshortcuts="Control+Enter Meta+Enter" data-testid="ai-ask">
              {busy ? 'Asking…' : `Ask AI`} <kbd>Ctrl+↵</kbd>
            </button>
          </div>
          {/* Students see their budget; the owner is exempt from the room's quota. */}
          {!isOwner && <RequestsLeft />}
        </form>
      ) : (
        <p className="muted">Viewers watch proposals stream in; asking, voting and accepting need an editor seat.</p>
      )}
      <div className="proposals" aria-live="polite" data-testid="proposals">
        {textProposals.length === 0 && <p className="empty">No proposals yet. Put the cursor in the story and ask.</p>}
        {(showOlder ? textProposals : shown).map((view) => (
          <ProposalCard key={view.info.id} view={view} />
        ))}
        {folded.length > 0 && (
          <button type="button" className="ghost small" onClick={() => setShowOlder((v) => !v)} aria-expanded={showOlder} data-testid="older-proposals">
            {showOlder ? 'Hide older proposals' : `Show ${folded.length} older proposal${folded.length === 1 ? '' : 's'}`}
          </button>
        )}
      </div>
    </section>
  );
}

function ProposalCard({ view }: { view: ProposalView }) {
  const { conn, canEdit, dispatch, notify, editor, nameOf, room, lastAccept } = useRoom();
  const [reverting, setReverting] = useState(false);
  // The server refuses accept and regenerate while the AI is off; say so before the click.
  const aiOffReason = room.settings.aiMode === 'off' ? 'The AI is turned off in this room, so AI text cannot be accepted.' : null;
  const [previewing, setPreviewing] = useState<number | null>(null);
  // Votes count: with any vote cast, they decide the order; before that, the server's ranking does.
  const anyVotes = view.alternatives.some((a) => a.up > 0 || a.down > 0 || a.myVote !== 0);
  const forYou = anyVotes || view.order ? rankForYou(view.alternatives, view.order) : undefined;
  const ordered = applyRanking(view.alternatives, forYou);
  const streaming = isStreaming(view);
  const info: ProposalInfo = view.info;
  const final = view.status === 'accepted' || view.status === 'rejected' || view.status === 'failed' || view.status === 'reverted';

  // Preview of the hovered/focused alternative at the proposal's anchor; follows the stream.
  const previewText = previewing === null ? null : (view.alternatives.find((a) => a.index === previewing)?.text ?? null);
  useEffect(() => {
    if (!editor || editor.isDestroyed) return;
    const preview: PreviewState | null =
      previewing !== null && view.anchor && previewText !== null && !final ? { anchor: view.anchor, text: previewText, label: `alternative ${previewing + 1}` } : null;
    const current = previewKey.getState(editor.state);
    if (!preview && !current) return;
    editor.view.dispatch(editor.state.tr.setMeta(previewKey, preview).setMeta('addToHistory', false));
  }, [editor, previewing, previewText, view.anchor, final]);
  useEffect(
    () => () => {
      if (editor && !editor.isDestroyed && previewKey.getState(editor.state)) editor.view.dispatch(editor.state.tr.setMeta(previewKey, null));
    },
    [editor],
  );

  const act = async (label: string, run: () => Promise<{ ok: boolean; error?: { code: string; message: string } }>) => {
    const res = await run();
    if (!res.ok) notify(`${label}: ${describeAckError(res.error)}`);
    return res.ok;
  };

  const vote = (alt: AlternativeView, value: 1 | -1) => {
    const next = alt.myVote === value ? 0 : value;
    void act('Vote', async () => {
      const res = await conn.call<{ tally: VoteTally }, 'proposal:vote'>('proposal:vote', { proposalId: info.id, alternative: alt.index, value: next });
      if (res.ok) {
        dispatch({ type: 'myVote', proposalId: info.id, alternative: alt.index, value: next });
        if (res.tally) dispatch({ type: 'voted', tally: res.tally });
      }
      return res;
    });
  };
  const accept = (alt: AlternativeView) => {
    setPreviewing(null);
    void act('Accept', () => conn.call('proposal:accept', { proposalId: info.id, alternative: alt.index }, 30000)).then((ok) => {
      // Ctrl/Cmd+Z in the editor now undoes this accept, until this member's next own edit.
      if (ok) lastAccept.current = info.id;
    });
  };
  const undoAccept = async () => {
    setReverting(true);
    if (lastAccept.current === info.id) lastAccept.current = null;
    await revertProposal(conn, info.id, notify);
    setReverting(false);
  };
  const rejectAlt = (alt: AlternativeView) => void act('Reject', () => conn.call('proposal:reject', { proposalId: info.id, alternative: alt.index }));
  const rejectAll = () => void act('Reject', () => conn.call('proposal:reject', { proposalId: info.id }));
  const stop = () => void act('Stop', () => conn.call('proposal:stop', { proposalId: info.id }));
  const regenerate = () =>
    void act('Regenerate', async () => {
      const res = await conn.call<{ proposal: ProposalInfo }, 'proposal:regenerate'>('proposal:regenerate', { proposalId: info.id, alternatives: Math.max(1, Math.min(4, info.alternatives)) });
      if (res.ok && res.proposal) {
        dispatch({ type: 'started', proposal: res.proposal });
        if (view.anchor && res.proposal.id !== info.id) dispatch({ type: 'anchor', proposalId: res.proposal.id, anchor: view.anchor });
      }
      return res;
    });

  const title = info.kind === 'text' && info.mode !== 'image' ? MODE_LABELS[info.mode] : 'Proposal';
  return (
    <article className={`proposal status-${view.status}`} data-testid="proposal" data-proposal-id={info.id} data-status={view.status} aria-label={`${title} proposal by ${info.requestedBy.displayName}`}>
      <header className="proposal-head">
        <div>
          <strong>{title}</strong> <span className="muted">by {info.requestedBy.displayName || 'someone'}</span>
          {info.instruction && <p className="instruction">“{info.instruction}”</p>}
        </div>
        <span className={`pill pill-${view.status}`}>{streaming ? 'streaming…' : statusLabel(view.status)}</span>
      </header>
      {view.error && <p className="form-error">{describeAckError(view.error)}</p>}
      {canEdit && aiOffReason && !final && (
        <p className="muted small" data-testid="ai-off-reason">
          {aiOffReason}
        </p>
      )}
      <ol className="alternatives">
        {ordered.map((alt) => {
          const accepted = view.acceptedAlternative === alt.index;
          return (
            <li
              key={alt.index}
              className={`alternative alt-${alt.status} ${accepted ? 'accepted' : ''}`}
              data-testid="alternative"
              data-alternative={alt.index}
              data-alt-status={alt.status}
              onMouseEnter={() => setPreviewing(alt.index)}
              onMouseLeave={() => setPreviewing((p) => (p === alt.index ? null : p))}
              onFocus={() => setPreviewing(alt.index)}
              onBlur={(e) => {
                if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setPreviewing((p) => (p === alt.index ? null : p));
              }}
            >
              <div className="alt-head">
                <span className="alt-label">
                  Alternative {alt.index + 1}
                  {rankLabel(alt.index, forYou) && <span className="rank" title="Ranked for you: your votes, the room's votes, then the AI's ranking" data-testid="rank"> {rankLabel(alt.index, forYou)} for you</span>}
                </span>
                {accepted && <span className="pill pill-accepted">accepted{view.acceptedBy ? ` by ${nameOf(view.acceptedBy)}` : ''}</span>}
                {view.status === 'reverted' && view.acceptedAlternative === alt.index && (
                  <span className="pill pill-rejected" data-testid="reverted-by">
                    undone{view.revertedBy ? ` by ${nameOf(view.revertedBy)}` : ''}
                  </span>
                )}
                {alt.status === 'rejected' && <span className="pill pill-rejected">rejected</span>}
              </div>
              <p className="alt-text" tabIndex={0} data-testid="alternative-text" aria-label={`Alternative ${alt.index + 1} text`}>
                {alt.text.replace(/^\n+/, '')}
                {alt.status === 'streaming' && <span className="stream-caret" aria-hidden="true" />}
              </p>
              {alt.status === 'done' && !alt.text.trim() && alt.finishReason !== 'filtered' && <p className="muted small">The model produced no text for this one.</p>}
              {alt.finishReason === 'filtered' && <p className="form-error">Filtered out by moderation{alt.reason ? `: ${alt.reason}` : ''}.</p>}
              {alt.status === 'failed' && <p className="form-error">Failed{alt.reason ? `: ${alt.reason}` : ''}.</p>}
              {alt.finishReason === 'stopped' && <p className="muted small">Stopped before the end.</p>}
              <div className="alt-actions">
                <button type="button" className={`vote ${alt.myVote === 1 ? 'on' : ''}`} disabled={!canEdit || final} aria-pressed={alt.myVote === 1} aria-label={`Vote up alternative ${alt.index + 1}`} onClick={() => vote(alt, 1)}>
                  <ThumbsUp size={14} aria-hidden="true" /> {alt.up}
                </button>
                <button type="button" className={`vote ${alt.myVote === -1 ? 'on' : ''}`} disabled={!canEdit || final} aria-pressed={alt.myVote === -1} aria-label={`Vote down alternative ${alt.index + 1}`} onClick={() => vote(alt, -1)}>
                  <ThumbsDown size={14} aria-hidden="true" /> {alt.down}
                </button>
                <span className="spacer" />
                {canEdit && !final && alt.status !== 'rejected' && (
                  <>
                    <button type="button" className="ghost" onClick={() => rejectAlt(alt)} aria-label={`Reject alternative ${alt.index + 1}`}>
                      Reject
                    </button>
                    <button type="button" className="primary small" disabled={aiOffReason !== null || !canAcceptAlternative(view, alt)} title={aiOffReason ?? undefined} onClick={() => accept(alt)} aria-label={`Accept alternative ${alt.index + 1}`} data-testid="accept">
                      Accept
                    </button>
                  </>
                )}
              </div>
            </li>
          );
        })}
      </ol>
      {canEdit && (
        <footer className="proposal-actions">
          {streaming && (
            <button type="button" onClick={stop} data-testid="stop">
              Stop
            </button>
          )}
          {view.status === 'accepted' && (
            <button type="button" onClick={() => void undoAccept()} disabled={reverting} title="Take this AI text back out of the story, for everyone" data-testid="undo-accept">
              {reverting ? 'Undoing…' : 'Undo accept'} <kbd>Ctrl+Z</kbd>
            </button>
          )}
          {!streaming && view.status !== 'accepted' && view.status !== 'reverted' && (
            <button type="button" onClick={regenerate} disabled={aiOffReason !== null} title={aiOffReason ?? undefined} data-testid="regenerate">
              Regenerate
            </button>
          )}
          {!final && (
            <button type="button" className="ghost" onClick={rejectAll}>
              Reject all
            </button>
          )}
          {(final || view.status === 'stopped') && (
            <button type="button" className="ghost" onClick={() => dispatch({ type: 'clear', proposalId: info.id })} aria-label="Remove from list">
              Dismiss
            </button>
          )}
          {!view.anchor && <span className="muted small">No preview: its place in the text is not known to this tab.</span>}
        </footer>
      )}
    </article>
  );
}
