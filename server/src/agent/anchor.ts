import * as Y from 'yjs';
import { AI_MARK, decodeAnchor, storyOf, type AiMarkAttrs, type ProposalMode } from '@ensemble/shared';
import { AgentError } from './errors';

/**
 * Anchors are Yjs relative positions (Y.encodeRelativePosition, base64) computed by the client's
 * editor binding (y-prosemirror / @tiptap/y-tiptap `absolutePositionToRelativePosition`): they
 * point into a Y.XmlText of the `story` fragment (a character, or the text itself at its end), or
 * into an element (e.g. an empty paragraph has no Y.XmlText yet).
 */
export interface ResolvedAnchor {
  type: Y.AbstractType<unknown>;
  index: number;
}

const TEXTBLOCKS = new Set(['paragraph', 'heading', 'codeBlock', 'code_block']);

/** Like the shared decodeAnchor, but a payload that is not an anchor throws AgentError invalid_payload (as zod parse does). */
export function parseAnchor(encoded: string): Y.RelativePosition {
  const rpos = decodeAnchor(encoded);
  if (!rpos) throw new AgentError('invalid_payload', 'anchor is not an encoded Yjs relative position');
  return rpos;
}

function isDeletedStruct(doc: Y.Doc, id: Y.ID): boolean | 'unknown' {
  if (Y.getState(doc.store, id.client) <= id.clock) return 'unknown';
  const struct = Y.getItem(doc.store, id) as unknown;
  if (!(struct instanceof Y.Item)) return true; // garbage-collected: it was deleted
  return struct.deleted;
}

function rootOf(type: Y.AbstractType<unknown>): { root: Y.AbstractType<unknown>; deleted: boolean } {
  let t: Y.AbstractType<unknown> = type;
  let deleted = false;
  while (t._item !== null) {
    if (t._item.deleted) deleted = true;
    t = t._item.parent as Y.AbstractType<unknown>;
  }
  return { root: t, deleted };
}

/**
 * Resolves an anchor against the document now. Errors: `invalid_payload` (not a relative position,
 * or not inside the story), `conflict` (refers to content the server has not received yet),
 * `anchor_deleted` (the character or text it refers to, or a block containing it, was deleted).
 */
export function resolveAnchor(doc: Y.Doc, rpos: Y.RelativePosition): ResolvedAnchor {
  // Define the root type first: on a doc that only received updates it is still a placeholder.
  const story = storyOf(doc);
  for (const id of [rpos.item, rpos.type]) {
    if (!id) continue;
    const del = isDeletedStruct(doc, id);
    if (del === 'unknown') throw new AgentError('conflict', 'the anchor refers to text the server has not received yet');
    if (del) throw new AgentError('anchor_deleted', 'the text at the anchor was deleted; place the cursor again and retry');
  }
  if (rpos.tname !== null && rpos.tname !== undefined && rpos.tname !== 'story') {
    throw new AgentError('invalid_payload', 'the anchor is not inside the story');
  }
  const abs = Y.createAbsolutePositionFromRelativePosition(rpos, doc);
  if (!abs) throw new AgentError('anchor_deleted', 'the text at the anchor was deleted; place the cursor again and retry');
  const { root, deleted } = rootOf(abs.type as Y.AbstractType<unknown>);
  if (deleted) throw new AgentError('anchor_deleted', 'the paragraph at the anchor was deleted; place the cursor again and retry');
  if (root !== (story as unknown)) throw new AgentError('invalid_payload', 'the anchor is not inside the story');
  return { type: abs.type as Y.AbstractType<unknown>, index: abs.index };
}

/** The story as plain text (blocks joined by '\n') and the offset of an anchor in it. */
export function linearizeStory(doc: Y.Doc, anchor?: ResolvedAnchor): { text: string; offset: number | null; blocks: string[] } {
  const blocks: string[] = [];
  let out = '';
  let offset: number | null = null;
  let started = false;
  const newBlock = (): void => {
    if (started) out += '\n';
    started = true;
    blocks.push('');
  };
  const append = (s: string): void => {
    if (!started) newBlock();
    out += s;
    blocks[blocks.length - 1] += s;
  };
  const walk = (node: Y.AbstractType<unknown>): void => {
    if (node instanceof Y.XmlText) {
      let idx = 0;
      for (const d of node.toDelta() as Array<{ insert: unknown }>) {
        const s = typeof d.insert === 'string' ? d.insert : '';
        const len = typeof d.insert === 'string' ? d.insert.length : 1;
        if (anchor && anchor.type === node && offset === null && anchor.index <= idx + len) {
          offset = out.length + Math.min(anchor.index - idx, s.length);
        }
        append(s);
        idx += len;
      }
      if (anchor && anchor.type === node && offset === null) offset = out.length;
      return;
    }
    const children = (node as Y.XmlFragment).toArray() as Array<Y.AbstractType<unknown>>;
    children.forEach((child, i) => {
      if (anchor && anchor.type === node && anchor.index === i && offset === null) offset = out.length + (child instanceof Y.XmlElement && started ? 1 : 0);
      if (child instanceof Y.XmlElement) newBlock();
      walk(child);
    });
    if (anchor && anchor.type === node && offset === null) offset = out.length;
  };
  walk(storyOf(doc) as unknown as Y.AbstractType<unknown>);
  return { text: out, offset, blocks };
}

function indexInParent(child: Y.AbstractType<unknown>): { parent: Y.XmlElement | Y.XmlFragment; index: number } | null {
  const parent = child._item?.parent;
  if (!(parent instanceof Y.XmlElement || parent instanceof Y.XmlFragment)) return null;
  const index = parent.toArray().indexOf(child as Y.XmlElement);
  return index < 0 ? null : { parent, index };
}

function paragraph(text: string, attrs: Record<string, unknown>): Y.XmlElement {
  const p = new Y.XmlElement('paragraph');
  const t = new Y.XmlText();
  p.insert(0, [t]);
  t.insert(0, text, attrs);
  return p;
}

function charBefore(t: Y.XmlText, index: number): string {
  if (index <= 0) return '';
  return plainText(t).charAt(index - 1);
}

function plainText(t: Y.XmlText): string {
  return (t.toDelta() as Array<{ insert: unknown }>).map((d) => (typeof d.insert === 'string' ? d.insert : ' ')).join('');
}

/**
 * Inserts accepted AI text at a resolved anchor, carrying the AI mark. Inline modes (continue,
 * describe, rewrite) insert into the text block at the anchor (a space is added when the text would
 * otherwise glue onto a word; newlines become spaces); `rewrite` with an end anchor in the same
 * text replaces the selection; `brainstorm` inserts each line as its own paragraph after the
 * anchor's block. Returns the text as inserted (brainstorm paragraphs joined with '\n').
 */
export function insertAiText(
  anchor: ResolvedAnchor,
  text: string,
  attrs: AiMarkAttrs,
  mode: ProposalMode,
  end?: ResolvedAnchor | null,
): string {
  const format = { [AI_MARK]: { ...attrs } };
  const { type, index } = anchor;
  if (mode === 'brainstorm') {
    const lines = text.split(/\n+/).map((l) => l.trim()).filter(Boolean);
    if (lines.length === 0) return '';
    const block: Y.AbstractType<unknown> | null = type instanceof Y.XmlText ? (type._item?.parent as Y.AbstractType<unknown>) : type;
    const at = block ? indexInParent(block) : null;
    if (!at && (type instanceof Y.XmlFragment) && !(type instanceof Y.XmlElement)) {
      type.insert(Math.min(index, type.length), lines.map((l) => paragraph(l, format)));
      return lines.join('\n');
    }
    if (!at) throw new AgentError('anchor_deleted', 'the anchor is not inside a block');
    at.parent.insert(at.index + 1, lines.map((l) => paragraph(l, format)));
    return lines.join('\n');
  }
  let inline = text.replace(/\s*\n+\s*/g, ' ');
  if (type instanceof Y.XmlText) {
    let at = Math.min(index, type.length);
    if (mode === 'rewrite' && end && end.type === type && end.index > at) {
      type.delete(at, Math.min(end.index, type.length) - at);
    } else {
      const before = charBefore(type, at);
      if (before && !/\s/.test(before) && !/^\s/.test(inline) && !/^[.,;:!?)]/.test(inline)) inline = ' ' + inline;
    }
    if (at > type.length) at = type.length;
    type.insert(at, inline, format);
    return inline;
  }
  if (type instanceof Y.XmlElement && TEXTBLOCKS.has(type.nodeName)) {
    const children = type.toArray();
    const prev = children[index - 1];
    if (prev instanceof Y.XmlText) {
      const before = charBefore(prev, prev.length);
      if (before && !/\s/.test(before) && !/^\s/.test(inline)) inline = ' ' + inline;
      prev.insert(prev.length, inline, format);
    } else {
      const t = new Y.XmlText();
      type.insert(Math.min(index, type.length), [t]);
      t.insert(0, inline, format);
    }
    return inline;
  }
  if (type instanceof Y.XmlElement || type instanceof Y.XmlFragment) {
    type.insert(Math.min(index, type.length), [paragraph(inline.trim(), format)]);
    return inline.trim();
  }
  throw new AgentError('invalid_payload', 'the anchor is not inside the story');
}

/** A relative position at the end of the story's last text block (auto mode's anchor). */
export function endOfStoryAnchor(doc: Y.Doc): Y.RelativePosition {
  const story = storyOf(doc);
  let last: Y.XmlText | null = null;
  const walk = (node: Y.XmlFragment | Y.XmlElement): void => {
    for (const child of node.toArray()) {
      if (child instanceof Y.XmlText) last = child;
      else if (child instanceof Y.XmlElement) walk(child);
    }
  };
  walk(story);
  if (last) return Y.createRelativePositionFromTypeIndex(last, (last as Y.XmlText).length, -1);
  return Y.createRelativePositionFromTypeIndex(story, story.length);
}
