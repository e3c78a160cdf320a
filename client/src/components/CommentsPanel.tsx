import { useEffect, useRef, useState, type FormEvent } from 'react';
import { MessageSquare, X } from 'lucide-react';
import { COMMENT_MAX_CHARS, CommentError, createThread, type PlacedThread } from '@ensemble/shared';
import { passageInEditor, setCommentHighlights } from '../collab/commentHighlights';
import { excerpt } from '../lib/format';
import { CommentThreadCard } from './CommentThreadCard';
import { useRoom } from './RoomContext';
import { useCommentThreads } from './useCommentThreads';

/**
 * Comment threads on passages of the story, in document order: the composer for a new thread on
 * the selected passage (editors only), each thread with its quote, replies and resolution, and a
 * filter for resolved ones. The passages of the listed threads are tinted in the editor.
 */
export function CommentsPanel() {
  const { conn, editor, canEdit, session, notify, commentDraft, setCommentDraft, activeThread, setActiveThread } = useRoom();
  const [showResolved, setShowResolved] = useState(false);
  const all = useCommentThreads(conn.doc, true);
  const shown = showResolved ? all : all.filter((p) => !p.thread.resolved);
  const resolvedCount = all.length - all.filter((p) => !p.thread.resolved).length;

  // Tint the listed threads' passages; clear the tint when the panel goes.
  const highlightKey = shown.map((p) => `${p.thread.id}:${p.thread.anchor.start}:${p.thread.anchor.end}:${p.thread.id === activeThread}`).join(',');
  useEffect(() => {
    if (!editor || editor.isDestroyed) return;
    setCommentHighlights(
      editor.view,
      shown.map((p) => ({ id: p.thread.id, anchor: p.thread.anchor, active: p.thread.id === activeThread })),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [editor, highlightKey]);
  useEffect(
    () => () => {
      if (editor && !editor.isDestroyed) setCommentHighlights(editor.view, []);
    },
    [editor],
  );

  /** Selects the thread's passage in the editor and scrolls to it. */
  const select = (placed: PlacedThread) => {
    setActiveThread(placed.thread.id);
    if (!editor || editor.isDestroyed) return;
    const range = passageInEditor(editor.state, placed.thread.anchor);
    if (!range) {
      notify('The passage of this comment was deleted; its quote is kept with the thread.', 'info');
      return;
    }
    editor.chain().focus().setTextSelection(range).scrollIntoView().run();
  };

  return (
    <section className="panel comments" aria-label="Comments" data-testid="comments-panel">
      <header className="comments-head">
        <h2>
          <MessageSquare size={16} aria-hidden="true" /> Comments
        </h2>
        <label className="small comments-filter">
          <input type="checkbox" checked={showResolved} onChange={(e) => setShowResolved(e.target.checked)} />
          Show resolved{resolvedCount > 0 ? ` (${resolvedCount})` : ''}
        </label>
      </header>
      {canEdit && commentDraft && (
        <Composer
          quote={commentDraft.quote}
          onCancel={() => setCommentDraft(null)}
          onPost={(text) => {
            const author = { id: session.member.id, name: session.member.displayName };
            const id = createThread(conn.doc, { anchor: commentDraft.anchor, quote: commentDraft.quote, author, text });
            setCommentDraft(null);
            setActiveThread(id);
          }}
        />
      )}
      {shown.length === 0 ? (
        <p className="muted small" data-testid="comments-empty">
          {all.length > 0
            ? 'All comments are resolved.'
            : canEdit
              ? 'Select a passage and press Comment to start a thread.'
              : 'No comments yet.'}
        </p>
      ) : (
        <ol className="comment-threads">
          {shown.map((placed) => (
            <CommentThreadCard key={placed.thread.id} placed={placed} active={placed.thread.id === activeThread} onSelect={() => select(placed)} />
          ))}
        </ol>
      )}
    </section>
  );
}

/** The new thread's text box, under the quoted passage. */
function Composer({ quote, onPost, onCancel }: { quote: string; onPost: (text: string) => void; onCancel: () => void }) {
  const { notify } = useRoom();
  const [text, setText] = useState('');
  const box = useRef<HTMLTextAreaElement>(null);
  useEffect(() => box.current?.focus(), [quote]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    try {
      onPost(text);
      setText('');
    } catch (err) {
      if (err instanceof CommentError) notify(err.message);
      else throw err;
    }
  };
  return (
    <form className="comment-composer" onSubmit={submit} data-testid="comment-composer">
      <blockquote className="comment-quote">{excerpt(quote, 160)}</blockquote>
      <label>
        <span className="sr-only">Your comment</span>
        <textarea
          ref={box}
          value={text}
          rows={3}
          maxLength={COMMENT_MAX_CHARS}
          placeholder="Your comment on this passage"
          aria-label="Your comment"
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') onCancel();
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit(e);
          }}
        />
      </label>
      <div className="comment-actions">
        <button type="submit" className="primary small" disabled={!text.trim()}>
          Post comment
        </button>
        <button type="button" className="ghost small" onClick={onCancel}>
          <X size={14} aria-hidden="true" /> Cancel
        </button>
      </div>
    </form>
  );
}
