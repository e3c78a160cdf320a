import * as Y from 'yjs';
import { AI_MARK, authorsOf, storyOf } from '@ensemble/shared';
import { writeOnBehalfOf } from './writer';

/** The Yjs ids the agent's accept transaction created: clocks [clock, clock + length) of `client`. */
export interface InsertedRange {
  client: number;
  clock: number;
  length: number;
}

export interface RevertOutcome {
  /** Agent-written characters removed. */
  removed: number;
  /** Characters members typed inside the AI run: kept, with the AI mark taken off. */
  keptHuman: number;
}

/** A piece of the passage a rewrite replaced: its text, formatting and who wrote it. */
export interface ReplacedRun {
  text: string;
  attributes?: Record<string, unknown>;
  memberId: string;
  displayName: string;
  kind: 'human' | 'agent' | 'unknown';
}

/** The visible characters [from, to) of `text`, by author and formatting (before a rewrite replaces them). */
export function captureReplaced(doc: Y.Doc, text: Y.XmlText, from: number, to: number): ReplacedRun[] {
  const authors = authorsOf(doc);
  const out: ReplacedRun[] = [];
  let attrs: Record<string, unknown> = {};
  let index = 0;
  for (let item = text._start; item !== null && index < to; item = item.right) {
    const content = item.content;
    if (content instanceof Y.ContentFormat) {
      if (!item.deleted) attrs = { ...attrs, [content.key]: content.value };
      continue;
    }
    if (item.deleted || !item.countable) continue;
    const len = item.length;
    const a = Math.max(from, index);
    const b = Math.min(to, index + len);
    if (a < b && content instanceof Y.ContentString) {
      const who = authors.get(String(item.id.client));
      const attributes = Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== null && v !== undefined));
      const run: ReplacedRun = { text: content.str.slice(a - index, b - index), memberId: who?.memberId ?? `client:${item.id.client}`, displayName: who?.displayName ?? 'unknown', kind: who?.kind ?? 'unknown' };
      if (Object.keys(attributes).length) run.attributes = attributes;
      const last = out[out.length - 1];
      if (last && last.memberId === run.memberId && last.kind === run.kind && JSON.stringify(last.attributes) === JSON.stringify(run.attributes)) last.text += run.text;
      else out.push(run);
    }
    index += len;
  }
  return out;
}

function inRange(range: InsertedRange | undefined, id: Y.ID, length: number): { from: number; to: number } | null {
  if (!range || id.client !== range.client) return null;
  const from = Math.max(id.clock, range.clock);
  const to = Math.min(id.clock + length, range.clock + range.length);
  return from < to ? { from: from - id.clock, to: to - id.clock } : null;
}

interface Edit {
  text: Y.XmlText;
  index: number;
  length: number;
  action: 'delete' | 'unmark';
}

/**
 * Takes an accepted AI run out of the story, by Yjs identity rather than by position, so edits made
 * around it since (by anyone) do not move what is removed:
 * - deleted: every visible character the accept transaction created (`range`), and every
 *   agent-written character still carrying this proposal's AI mark (the range is lost when a
 *   version restore rewrote the text);
 * - kept: characters members typed inside the run — their words stay, unmarked (they are human);
 * - a paragraph the accept created (brainstorm) goes when nothing visible is left in it.
 * Runs inside the caller's transaction (the agent's writer).
 */
export function revertAiRun(doc: Y.Doc, proposalId: string, range?: InsertedRange): RevertOutcome & { at?: Y.RelativePosition } {
  const authors = authorsOf(doc);
  const isAgent = (client: number): boolean => authors.get(String(client))?.kind === 'agent';
  const edits: Edit[] = [];
  const outcome: RevertOutcome & { at?: Y.RelativePosition } = { removed: 0, keptHuman: 0 };
  const start: { first: { text: Y.XmlText; index: number } | null } = { first: null };
  const createdBlocks: Y.XmlElement[] = [];

  const walkText = (text: Y.XmlText): void => {
    let attrs: Record<string, unknown> = {};
    let index = 0;
    for (let item = text._start; item !== null; item = item.right) {
      const content = item.content;
      if (content instanceof Y.ContentFormat) {
        if (!item.deleted) attrs = { ...attrs, [content.key]: content.value };
        continue;
      }
      if (item.deleted || !item.countable) continue;
      const len = item.length;
      const mark = attrs[AI_MARK] as { proposalId?: string } | null | undefined;
      const marked = mark?.proposalId === proposalId;
      const own = inRange(range, item.id, len);
      if (marked && isAgent(item.id.client)) {
        if (own) start.first ??= { text, index };
        edits.push({ text, index, length: len, action: 'delete' });
        outcome.removed += len;
      } else if (own) {
        // The accept's own characters, even where someone took the mark off them.
        start.first ??= { text, index: index + own.from };
        edits.push({ text, index: index + own.from, length: own.to - own.from, action: 'delete' });
        outcome.removed += own.to - own.from;
      } else if (marked) {
        edits.push({ text, index, length: len, action: 'unmark' });
        outcome.keptHuman += len;
      }
      index += len;
    }
  };
  const walk = (node: Y.XmlFragment | Y.XmlElement): void => {
    for (const child of node.toArray()) {
      if (child instanceof Y.XmlText) walkText(child);
      else if (child instanceof Y.XmlElement) {
        if (child._item && inRange(range, child._item.id, 1)) createdBlocks.push(child);
        walk(child);
      }
    }
  };
  walk(storyOf(doc));

  // Back to front per text, so earlier indices stay valid while later ones change.
  const byText = new Map<Y.XmlText, Edit[]>();
  for (const e of edits) byText.set(e.text, [...(byText.get(e.text) ?? []), e]);
  for (const [text, list] of byText) {
    for (const e of list.sort((a, b) => b.index - a.index)) {
      if (e.action === 'delete') text.delete(e.index, e.length);
      else text.format(e.index, e.length, { [AI_MARK]: null });
    }
  }
  // Where the run began (what a rewrite replaced goes back there); the texts in front of it are unchanged.
  if (start.first) outcome.at = Y.createRelativePositionFromTypeIndex(start.first.text, start.first.index);
  for (const block of createdBlocks.reverse()) {
    const parent = block.parent as Y.XmlFragment | Y.XmlElement | null;
    if (!parent || block._item?.deleted) continue;
    const empty = block.toArray().every((c) => c instanceof Y.XmlText && c.length === 0);
    if (!empty) continue;
    const at = parent.toArray().indexOf(block);
    if (at >= 0) parent.delete(at, 1);
  }
  return outcome;
}

/**
 * Puts a rewrite's replaced passage back where its AI text began, piece by piece, each written as
 * its author's (agent pieces through `asAgent`), so provenance still counts it as theirs. Returns
 * the characters restored.
 */
export function restoreReplaced(roomDoc: Y.Doc, at: Y.RelativePosition, runs: readonly ReplacedRun[], asAgent: (edit: (doc: Y.Doc) => void) => void): number {
  let restored = 0;
  for (const run of runs) {
    const put = (doc: Y.Doc): void => {
      const abs = Y.createAbsolutePositionFromRelativePosition(at, doc);
      if (!abs || !(abs.type instanceof Y.XmlText)) return;
      // Explicit attributes ({} too): the piece takes none of its neighbours' formatting.
      abs.type.insert(abs.index, run.text, { ...(run.attributes ?? {}) });
      restored += run.text.length;
    };
    if (run.kind === 'agent') asAgent(put);
    else writeOnBehalfOf(roomDoc, run, put);
  }
  return restored;
}
