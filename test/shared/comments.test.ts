import * as Y from 'yjs';
import { describe, expect, it } from 'vitest';
import {
  addReply,
  COMMENT_MAX_CHARS,
  CommentError,
  commentsOf,
  createThread,
  deleteReply,
  deleteThread,
  encodeAnchor,
  passageRange,
  readThreads,
  reopenThread,
  resolveThread,
  storyOf,
  storyText,
  threadsInDocumentOrder,
  type CommentAnchor,
} from '../../shared/src/index';

const ada = { id: 'm_ada', name: 'Ada' };
const ben = { id: 'm_ben', name: 'Ben' };

/** A story laid out as y-prosemirror stores it: one paragraph element holding a text node per line. */
function storyDoc(...lines: string[]): Y.Doc {
  const doc = new Y.Doc();
  const story = storyOf(doc);
  story.insert(
    0,
    lines.map((line) => {
      const p = new Y.XmlElement('paragraph');
      p.insert(0, [new Y.XmlText(line)]);
      return p;
    }),
  );
  return doc;
}

function textOf(doc: Y.Doc, paragraph: number): Y.XmlText {
  return (storyOf(doc).get(paragraph) as Y.XmlElement).get(0) as Y.XmlText;
}

/** Anchors around `passage` in a paragraph, as the editor makes them (relative positions in the text node). */
function anchorAround(doc: Y.Doc, paragraph: number, passage: string): CommentAnchor {
  const text = textOf(doc, paragraph);
  const at = text.toString().indexOf(passage);
  if (at < 0) throw new Error(`"${passage}" not in paragraph ${paragraph}`);
  return {
    start: encodeAnchor(Y.createRelativePositionFromTypeIndex(text, at)),
    end: encodeAnchor(Y.createRelativePositionFromTypeIndex(text, at + passage.length)),
  };
}

function sync(a: Y.Doc, b: Y.Doc): void {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
}

function copyOf(doc: Y.Doc): Y.Doc {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  return copy;
}

describe('comment threads in the room document', () => {
  it('a thread stores its passage, opening comment and author, and reads back as plain data', () => {
    const doc = storyDoc('The lighthouse stayed dark.', 'Nobody came.');
    const id = createThread(doc, { anchor: anchorAround(doc, 0, 'stayed dark'), quote: 'stayed dark', author: ada, text: '  Too bleak?  ', now: 1000 });
    const [thread] = readThreads(doc);
    expect(thread).toMatchObject({ id, quote: 'stayed dark', authorId: 'm_ada', authorName: 'Ada', createdAt: 1000, resolved: false, resolvedBy: null });
    expect(thread!.replies).toEqual([{ id: expect.any(String), authorId: 'm_ada', authorName: 'Ada', text: 'Too bleak?', createdAt: 1000 }]);
    expect(commentsOf(doc).get(id)!.get('replies')).toBeInstanceOf(Y.Array);
    expect(passageRange(doc, thread!.anchor)).toEqual({ from: 15, to: 26, text: 'stayed dark' });
    // The story text is untouched by comments.
    expect(storyText(doc)).toBe('The lighthouse stayed dark.\nNobody came.');
  });

  it('the anchor follows concurrent edits before and inside the passage on another client', () => {
    const a = storyDoc('The lighthouse stayed dark.', 'Nobody came.');
    const b = copyOf(a);
    const id = createThread(a, { anchor: anchorAround(a, 1, 'Nobody came'), quote: 'Nobody came', author: ada, text: 'Who is nobody?' });
    // Concurrently, B writes before the passage (in an earlier paragraph and at the start of its own).
    textOf(b, 0).insert(0, 'At midnight, ');
    textOf(b, 1).insert(0, 'Still, ');
    sync(a, b);
    for (const doc of [a, b]) {
      const [placed] = threadsInDocumentOrder(doc);
      expect(placed!.thread.id).toBe(id);
      expect(placed!.range?.text).toBe('Nobody came');
      expect(storyText(doc).slice(placed!.range!.from, placed!.range!.to)).toBe('Nobody came');
    }
    // An edit inside the passage widens it.
    textOf(a, 1).insert('Still, Nobody'.length, ' ever');
    expect(threadsInDocumentOrder(a)[0]!.range?.text).toBe('Nobody ever came');
  });

  it('is orphaned (null range, quote kept) once the passage or its paragraph is deleted', () => {
    const doc = storyDoc('The lighthouse stayed dark.', 'Nobody came.', 'The end.');
    createThread(doc, { anchor: anchorAround(doc, 0, 'stayed dark'), quote: 'stayed dark', author: ada, text: 'one' });
    createThread(doc, { anchor: anchorAround(doc, 1, 'Nobody'), quote: 'Nobody', author: ben, text: 'two' });
    const b = copyOf(doc);
    // Another client deletes exactly the passage; this one deletes the second paragraph.
    textOf(b, 0).delete('The lighthouse '.length, 'stayed dark'.length);
    storyOf(doc).delete(1, 1);
    sync(doc, b);
    expect(storyText(doc)).toBe('The lighthouse .\nThe end.');
    const placed = threadsInDocumentOrder(doc);
    expect(placed.map((p) => [p.thread.quote, p.range])).toEqual([
      ['stayed dark', null],
      ['Nobody', null],
    ]);
  });

  it('lists threads in document order, orphaned ones last', () => {
    const doc = storyDoc('Alpha beta.', 'Gamma delta.');
    createThread(doc, { anchor: anchorAround(doc, 1, 'delta'), quote: 'delta', author: ada, text: 'late', now: 1 });
    createThread(doc, { anchor: anchorAround(doc, 0, 'beta'), quote: 'beta', author: ada, text: 'early', now: 2 });
    createThread(doc, { anchor: anchorAround(doc, 1, 'Gamma'), quote: 'Gamma', author: ada, text: 'gone', now: 3 });
    createThread(doc, { anchor: anchorAround(doc, 0, 'Alpha'), quote: 'Alpha', author: ada, text: 'first', now: 4 });
    textOf(doc, 1).delete(0, 'Gamma '.length);
    expect(threadsInDocumentOrder(doc).map((p) => p.thread.quote)).toEqual(['Alpha', 'beta', 'delta', 'Gamma']);
  });

  it('resolve and reopen, live on another client; resolved threads only when asked for', () => {
    const a = storyDoc('The lighthouse stayed dark.');
    const b = copyOf(a);
    const id = createThread(a, { anchor: anchorAround(a, 0, 'lighthouse'), quote: 'lighthouse', author: ada, text: 'Which one?' });
    sync(a, b);
    addReply(b, id, { author: ben, text: 'The old one.' });
    resolveThread(b, id, ben);
    sync(a, b);
    expect(threadsInDocumentOrder(a)).toEqual([]);
    const [placed] = threadsInDocumentOrder(a, { includeResolved: true });
    expect(placed!.thread).toMatchObject({ resolved: true, resolvedBy: { id: 'm_ben', name: 'Ben' } });
    expect(placed!.thread.replies.map((r) => `${r.authorName}: ${r.text}`)).toEqual(['Ada: Which one?', 'Ben: The old one.']);
    reopenThread(a, id);
    sync(a, b);
    expect(threadsInDocumentOrder(b).map((p) => p.thread.resolved)).toEqual([false]);
    expect(readThreads(b)[0]!.resolvedBy).toBeNull();
  });

  it('validates text and passage with clear errors and writes nothing then', () => {
    const doc = storyDoc('Text.');
    const anchor = anchorAround(doc, 0, 'Text');
    const fails = (f: () => unknown, code: string, message: RegExp) => {
      let caught: unknown;
      try {
        f();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(CommentError);
      expect((caught as CommentError).code).toBe(code);
      expect((caught as CommentError).message).toMatch(message);
    };
    fails(() => createThread(doc, { anchor, quote: 'Text', author: ada, text: '   ' }), 'invalid_text', /cannot be empty/);
    fails(() => createThread(doc, { anchor, quote: 'Text', author: ada, text: 'x'.repeat(COMMENT_MAX_CHARS + 1) }), 'invalid_text', /at most 2000 characters/);
    fails(() => createThread(doc, { anchor: { start: 'auto', end: anchor.end }, quote: 'Text', author: ada, text: 'hi' }), 'invalid_anchor', /could not be located/);
    fails(() => createThread(doc, { anchor: { start: '%%', end: anchor.end }, quote: 'Text', author: ada, text: 'hi' }), 'invalid_anchor', /could not be located/);
    fails(() => createThread(doc, { anchor, quote: '  ', author: ada, text: 'hi' }), 'empty_passage', /Select the passage/);
    expect(commentsOf(doc).size).toBe(0);
    const id = createThread(doc, { anchor, quote: 'Text', author: ada, text: 'x'.repeat(COMMENT_MAX_CHARS) });
    fails(() => addReply(doc, id, { author: ben, text: '' }), 'invalid_text', /cannot be empty/);
    fails(() => addReply(doc, 'nope', { author: ben, text: 'hi' }), 'not_found', /no longer exists/);
    expect(readThreads(doc)[0]!.replies).toHaveLength(1);
  });

  it('only authors delete their own thread or reply', () => {
    const doc = storyDoc('Text here.');
    const id = createThread(doc, { anchor: anchorAround(doc, 0, 'here'), quote: 'here', author: ada, text: 'open' });
    const reply = addReply(doc, id, { author: ben, text: 'reply' });
    expect(() => deleteReply(doc, id, reply, ada.id)).toThrow(/Only the author of a reply/);
    expect(() => deleteReply(doc, id, readThreads(doc)[0]!.replies[0]!.id, ada.id)).toThrow(/delete the thread instead/);
    deleteReply(doc, id, reply, ben.id);
    expect(readThreads(doc)[0]!.replies.map((r) => r.text)).toEqual(['open']);
    expect(() => deleteThread(doc, id, ben.id)).toThrow(/Only the author of a thread/);
    deleteThread(doc, id, ada.id);
    expect(readThreads(doc)).toEqual([]);
  });

  it('skips entries other clients wrote that do not parse', () => {
    const doc = storyDoc('Text.');
    const comments = commentsOf(doc);
    comments.set('junk', new Y.Map());
    const noReplies = new Y.Map<unknown>();
    noReplies.set('id', 'x');
    comments.set('x', noReplies);
    const id = createThread(doc, { anchor: anchorAround(doc, 0, 'Text'), quote: 'Text', author: ada, text: 'real' });
    (comments.get(id)!.get('replies') as Y.Array<unknown>).push([{ id: 'bad', text: 42 }]);
    expect(readThreads(doc).map((t) => [t.id, t.replies.length])).toEqual([[id, 1]]);
  });

  it('a thread whose anchor names nothing in this document is orphaned, never a throw ("Unexpected case")', () => {
    const doc = storyDoc('Text.');
    const id = createThread(doc, { anchor: anchorAround(doc, 0, 'Text'), quote: 'Text', author: ada, text: 'real' });
    // Another client rewrites the anchor: 'auto' is base64 that decodes to a position naming no type.
    commentsOf(doc).get(id)!.set('anchor', { start: 'auto', end: 'auto' });
    expect(threadsInDocumentOrder(doc).map((p) => [p.thread.id, p.range])).toEqual([[id, null]]);
    // A position in a document this one never saw (unknown client) is orphaned too.
    const stranger = storyDoc('Elsewhere.');
    commentsOf(doc).get(id)!.set('anchor', anchorAround(stranger, 0, 'Elsewhere'));
    expect(threadsInDocumentOrder(doc)[0]!.range).toBeNull();
  });
});
