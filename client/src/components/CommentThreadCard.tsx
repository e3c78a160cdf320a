import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Check, MessageSquareReply, RotateCcw, Trash2, Unlink } from 'lucide-react';
import { addReply, COMMENT_MAX_CHARS, CommentError, deleteReply, deleteThread, reopenThread, resolveThread, type PlacedThread } from '@ensemble/shared';
import { excerpt, formatTime } from '../lib/format';
import { useRoom } from './RoomContext';

/** One thread: its passage (click to select it in the story), the comments, and for editors Reply and Resolve/Reopen. */
export function CommentThreadCard({ placed, active, onSelect }: { placed: PlacedThread; active: boolean; onSelect: () => void }) {
  const { conn, canEdit, session, notify } = useRoom();
  const { thread, range } = placed;
  const [replying, setReplying] = useState(false);
  const [text, setText] = useState('');
  const card = useRef<HTMLLIElement>(null);
  const me = { id: session.member.id, name: session.member.displayName };

  // Clicking the passage in the story brings its thread into view.
  useEffect(() => {
    if (active) card.current?.scrollIntoView({ block: 'nearest' });
  }, [active]);

  /** Runs a change to the thread, telling the member when it no longer applies (e.g. deleted meanwhile). */
  const act = (change: () => void): boolean => {
    try {
      change();
      return true;
    } catch (err) {
      if (err instanceof CommentError) {
        notify(err.message);
        return false;
      }
      throw err;
    }
  };

  const sendReply = (e: FormEvent) => {
    e.preventDefault();
    if (act(() => addReply(conn.doc, thread.id, { author: me, text }))) {
      setText('');
      setReplying(false);
    }
  };

  return (
    <li
      ref={card}
      className={`comment-thread ${active ? 'active' : ''} ${thread.resolved ? 'resolved' : ''}`}
      data-testid="comment-thread"
      data-thread-id={thread.id}
      data-resolved={thread.resolved}
      data-orphaned={range === null}
    >
      <button type="button" className="comment-quote" onClick={onSelect} title={range ? 'Select this passage in the story' : 'The passage was deleted'}>
        {range === null && (
          <span className="comment-orphaned" data-testid="comment-orphaned">
            <Unlink size={12} aria-hidden="true" /> Passage deleted
          </span>
        )}
        <q>{excerpt(range?.text ?? thread.quote, 160)}</q>
      </button>
      <ol className="comment-messages">
        {thread.replies.map((reply, i) => (
          <li key={reply.id} className="comment-message" data-testid="comment-message">
            <div className="comment-meta small">
              <strong>{reply.authorName}</strong>
              <span className="muted">{formatTime(new Date(reply.createdAt).toISOString())}</span>
              {canEdit && reply.authorId === me.id && (
                <button
                  type="button"
                  className="ghost icon-button danger small"
                  aria-label={i === 0 ? 'Delete thread' : 'Delete reply'}
                  title={i === 0 ? 'Delete this thread' : 'Delete this reply'}
                  onClick={() => {
                    if (i > 0) act(() => deleteReply(conn.doc, thread.id, reply.id, me.id));
                    else if (window.confirm('Delete this thread and all its replies?')) act(() => deleteThread(conn.doc, thread.id, me.id));
                  }}
                >
                  <Trash2 size={13} aria-hidden="true" />
                </button>
              )}
            </div>
            <p className="comment-text">{reply.text}</p>
          </li>
        ))}
      </ol>
      {thread.resolved && (
        <p className="small muted comment-resolved" data-testid="comment-resolved">
          <Check size={13} aria-hidden="true" /> Resolved by {thread.resolvedBy?.name ?? 'someone'}
        </p>
      )}
      {canEdit && replying && (
        <form className="comment-composer" onSubmit={sendReply}>
          <textarea
            autoFocus
            value={text}
            rows={2}
            maxLength={COMMENT_MAX_CHARS}
            aria-label="Your reply"
            placeholder="Reply"
            onChange={(e) => setText(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') setReplying(false);
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) sendReply(e);
            }}
          />
          <div className="comment-actions">
            <button type="submit" className="primary small" disabled={!text.trim()}>
              Send reply
            </button>
            <button type="button" className="ghost small" onClick={() => setReplying(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {canEdit && !replying && (
        <div className="comment-actions">
          <button type="button" className="small" onClick={() => setReplying(true)}>
            <MessageSquareReply size={14} aria-hidden="true" /> Reply
          </button>
          {thread.resolved ? (
            <button type="button" className="small" onClick={() => act(() => reopenThread(conn.doc, thread.id))}>
              <RotateCcw size={14} aria-hidden="true" /> Reopen
            </button>
          ) : (
            <button type="button" className="small" onClick={() => act(() => resolveThread(conn.doc, thread.id, me))}>
              <Check size={14} aria-hidden="true" /> Resolve
            </button>
          )}
        </div>
      )}
    </li>
  );
}
