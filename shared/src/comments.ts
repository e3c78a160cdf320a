import * as Y from 'yjs';
import { z } from 'zod';
import { decodeAnchor } from './anchor';
import { EncodedAnchor } from './collab';
import { DOC_FIELDS, indexStory, type StoryIndex } from './document';

/**
 * Comment threads on passages of the story, stored in the room's Y.Doc under `comments`:
 * thread id → Y.Map with the keys of `CommentThread`, `replies` being a Y.Array of plain
 * `CommentReply` objects. The first reply is the comment that opened the thread.
 *
 * A thread is anchored by two Yjs relative positions (encoded as in anchor.ts) around the passage,
 * so it follows edits made before or inside it; when the passage is deleted the range collapses
 * and the thread is orphaned (shown with its quote).
 *
 * Other members' clients write this map too, so everything read back is parsed, and what does not
 * parse is skipped rather than trusted.
 */
export const COMMENT_MAX_CHARS = 2000;
/** The quote keeps the passage as it was; long passages are cut (the anchor still spans all of it). */
export const QUOTE_MAX_CHARS = 300;

export const CommentText = z
  .string()
  .trim()
  .min(1, 'A comment cannot be empty.')
  .max(COMMENT_MAX_CHARS, `A comment can be at most ${COMMENT_MAX_CHARS} characters long.`);

export const CommentAnchor = z.object({ start: EncodedAnchor, end: EncodedAnchor });
export type CommentAnchor = z.infer<typeof CommentAnchor>;

const MemberRef = z.object({ id: z.string().min(1).max(200), name: z.string().max(200) });
export type CommentAuthor = z.infer<typeof MemberRef>;

export const CommentReply = z.object({
  id: z.string().min(1).max(100),
  authorId: z.string().min(1).max(200),
  authorName: z.string().max(200),
  text: CommentText,
  createdAt: z.number().finite(),
});
export type CommentReply = z.infer<typeof CommentReply>;

const ThreadFields = z.object({
  id: z.string().min(1).max(100),
  anchor: CommentAnchor,
  quote: z.string().max(QUOTE_MAX_CHARS + 1),
  authorId: z.string().min(1).max(200),
  authorName: z.string().max(200),
  createdAt: z.number().finite(),
  resolved: z.boolean(),
  resolvedBy: MemberRef.nullable(),
});

export interface CommentThread extends z.infer<typeof ThreadFields> {
  replies: CommentReply[];
}

export type CommentErrorCode = 'invalid_text' | 'invalid_anchor' | 'empty_passage' | 'not_found' | 'not_author';

export class CommentError extends Error {
  constructor(
    readonly code: CommentErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CommentError';
  }
}

export function commentsOf(doc: Y.Doc): Y.Map<Y.Map<unknown>> {
  return doc.getMap<Y.Map<unknown>>(DOC_FIELDS.comments);
}

export function newCommentId(prefix = 'c'): string {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  return `${prefix}_${Array.from(bytes, (b) => b.toString(36).padStart(2, '0')).join('').slice(0, 14)}`;
}

function checkedText(text: string): string {
  const parsed = CommentText.safeParse(text);
  if (!parsed.success) throw new CommentError('invalid_text', parsed.error.issues[0]?.message ?? 'Invalid comment.');
  return parsed.data;
}

function threadMap(doc: Y.Doc, threadId: string): Y.Map<unknown> {
  const thread = commentsOf(doc).get(threadId);
  if (!(thread instanceof Y.Map)) throw new CommentError('not_found', 'This comment thread no longer exists.');
  return thread;
}

export interface NewThread {
  anchor: CommentAnchor;
  /** The passage's text now. */
  quote: string;
  author: CommentAuthor;
  text: string;
  now?: number;
  id?: string;
}

/** Adds a thread on a passage; returns its id. Throws CommentError on bad text, anchor or an empty passage. */
export function createThread(doc: Y.Doc, input: NewThread): string {
  const text = checkedText(input.text);
  const anchor = CommentAnchor.safeParse(input.anchor);
  if (!anchor.success || !decodeAnchor(anchor.data.start) || !decodeAnchor(anchor.data.end)) {
    throw new CommentError('invalid_anchor', 'The passage to comment on could not be located; select it again.');
  }
  const passage = input.quote.trim();
  if (!passage) throw new CommentError('empty_passage', 'Select the passage to comment on first.');
  const quote = passage.length > QUOTE_MAX_CHARS ? `${passage.slice(0, QUOTE_MAX_CHARS)}…` : passage;
  const id = input.id ?? newCommentId('t');
  const createdAt = input.now ?? Date.now();
  const opening: CommentReply = { id: newCommentId('r'), authorId: input.author.id, authorName: input.author.name, text, createdAt };
  doc.transact(() => {
    const thread = new Y.Map<unknown>();
    const fields: z.infer<typeof ThreadFields> = {
      id,
      anchor: anchor.data,
      quote,
      authorId: input.author.id,
      authorName: input.author.name,
      createdAt,
      resolved: false,
      resolvedBy: null,
    };
    for (const [key, value] of Object.entries(fields)) thread.set(key, value);
    const replies = new Y.Array<CommentReply>();
    replies.push([opening]);
    thread.set('replies', replies);
    commentsOf(doc).set(id, thread);
  });
  return id;
}

/** Appends a reply to a thread; returns the reply's id. */
export function addReply(doc: Y.Doc, threadId: string, input: { author: CommentAuthor; text: string; now?: number; id?: string }): string {
  const text = checkedText(input.text);
  const replies = threadMap(doc, threadId).get('replies');
  if (!(replies instanceof Y.Array)) throw new CommentError('not_found', 'This comment thread no longer exists.');
  const reply: CommentReply = { id: input.id ?? newCommentId('r'), authorId: input.author.id, authorName: input.author.name, text, createdAt: input.now ?? Date.now() };
  replies.push([reply]);
  return reply.id;
}

/** Marks a thread resolved by `by` (any editor may resolve). */
export function resolveThread(doc: Y.Doc, threadId: string, by: CommentAuthor): void {
  const thread = threadMap(doc, threadId);
  doc.transact(() => {
    thread.set('resolved', true);
    thread.set('resolvedBy', { id: by.id, name: by.name });
  });
}

export function reopenThread(doc: Y.Doc, threadId: string): void {
  const thread = threadMap(doc, threadId);
  doc.transact(() => {
    thread.set('resolved', false);
    thread.set('resolvedBy', null);
  });
}

/** Deletes a whole thread; only its author may. */
export function deleteThread(doc: Y.Doc, threadId: string, memberId: string): void {
  const thread = threadMap(doc, threadId);
  if (thread.get('authorId') !== memberId) throw new CommentError('not_author', 'Only the author of a thread can delete it.');
  commentsOf(doc).delete(threadId);
}

/** Deletes one's own reply. The opening comment goes with its thread (deleteThread). */
export function deleteReply(doc: Y.Doc, threadId: string, replyId: string, memberId: string): void {
  const replies = threadMap(doc, threadId).get('replies');
  if (!(replies instanceof Y.Array)) throw new CommentError('not_found', 'This comment thread no longer exists.');
  const at = (replies.toArray() as Array<{ id?: unknown }>).findIndex((r) => r?.id === replyId);
  if (at < 0) throw new CommentError('not_found', 'This reply no longer exists.');
  if (at === 0) throw new CommentError('not_author', 'The opening comment goes with its thread: delete the thread instead.');
  if ((replies.get(at) as { authorId?: unknown }).authorId !== memberId) throw new CommentError('not_author', 'Only the author of a reply can delete it.');
  replies.delete(at, 1);
}

/** A thread as plain data, or null when the entry does not parse (written by a faulty or hostile client). */
export function readThread(entry: unknown): CommentThread | null {
  if (!(entry instanceof Y.Map)) return null;
  const fields = ThreadFields.safeParse(Object.fromEntries([...ThreadFields.keyof().options].map((k) => [k, entry.get(k)])));
  const replies = entry.get('replies');
  if (!fields.success || !(replies instanceof Y.Array)) return null;
  const parsed: CommentReply[] = [];
  for (const raw of replies.toArray()) {
    const reply = CommentReply.safeParse(raw);
    if (reply.success) parsed.push(reply.data);
  }
  // A thread whose opening comment is gone has nothing to show.
  return parsed.length > 0 ? { ...fields.data, replies: parsed } : null;
}

export function readThreads(doc: Y.Doc): CommentThread[] {
  const out: CommentThread[] = [];
  for (const entry of commentsOf(doc).values()) {
    const thread = readThread(entry);
    if (thread) out.push(thread);
  }
  return out;
}

/** Where a thread's passage is now, as offsets into storyText(doc) and its current text. */
export interface PassageRange {
  from: number;
  to: number;
  text: string;
}

function offsetOf(index: StoryIndex, doc: Y.Doc, encoded: string): number | null {
  const rel = decodeAnchor(encoded);
  if (!rel) return null;
  let abs: Y.AbsolutePosition | null;
  try {
    abs = Y.createAbsolutePositionFromRelativePosition(rel, doc);
  } catch {
    return null;
  }
  if (!abs) return null;
  if (abs.type instanceof Y.XmlText) {
    const start = index.textStart.get(abs.type);
    if (start === undefined) return null; // not in the story, or in a deleted paragraph
    // Yjs counts an embed as one; the plain text has none of it.
    let offset = 0;
    let left = abs.index;
    for (const d of abs.type.toDelta() as Array<{ insert: unknown }>) {
      if (left <= 0) break;
      const len = typeof d.insert === 'string' ? d.insert.length : 1;
      offset += typeof d.insert === 'string' ? Math.min(len, left) : 0;
      left -= len;
    }
    return start + offset;
  }
  const starts = index.childStart.get(abs.type as Y.XmlElement);
  return starts?.[Math.min(abs.index, starts.length - 1)] ?? null;
}

/** The thread's passage now, or null when it was deleted (or the anchor names nothing here): orphaned. */
export function passageRange(doc: Y.Doc, anchor: CommentAnchor, index: StoryIndex = indexStory(doc)): PassageRange | null {
  const from = offsetOf(index, doc, anchor.start);
  const to = offsetOf(index, doc, anchor.end);
  if (from === null || to === null || to <= from) return null;
  return { from, to, text: index.text.slice(from, to) };
}

export interface PlacedThread {
  thread: CommentThread;
  /** Null when orphaned. */
  range: PassageRange | null;
}

/**
 * The threads in document order (by where their passage starts; orphaned ones last, oldest
 * first), resolved ones only when asked for.
 */
export function threadsInDocumentOrder(doc: Y.Doc, options: { includeResolved?: boolean } = {}): PlacedThread[] {
  const index = indexStory(doc);
  const placed = readThreads(doc)
    .filter((t) => options.includeResolved || !t.resolved)
    .map((thread) => ({ thread, range: passageRange(doc, thread.anchor, index) }));
  return placed.sort((a, b) => {
    if (a.range && b.range) return a.range.from - b.range.from || a.range.to - b.range.to || a.thread.createdAt - b.thread.createdAt;
    if (a.range || b.range) return a.range ? -1 : 1;
    return a.thread.createdAt - b.thread.createdAt;
  });
}

/** Calls `onChange` after every change to the comments; returns the unsubscribe. */
export function observeComments(doc: Y.Doc, onChange: () => void): () => void {
  const comments = commentsOf(doc);
  comments.observeDeep(onChange);
  return () => comments.unobserveDeep(onChange);
}
