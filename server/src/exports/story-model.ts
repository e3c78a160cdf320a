import * as Y from 'yjs';
import { AI_MARK, storyOf } from '@ensemble/shared';

/** A run of text with the marks every export keeps. */
export interface Run {
  text: string;
  bold: boolean;
  italic: boolean;
  strike: boolean;
  code: boolean;
  /** Carries the AI mark (accepted AI text, possibly edited by a human inside it). */
  ai: boolean;
}

export type Block =
  | { type: 'paragraph'; runs: Run[] }
  | { type: 'heading'; level: number; runs: Run[] }
  | { type: 'quote'; blocks: Block[] }
  | { type: 'list'; ordered: boolean; items: Block[][] }
  | { type: 'code'; text: string }
  | { type: 'rule' };

/**
 * The story as blocks, read from the ProseMirror tree y-prosemirror keeps in the `story` fragment
 * (StarterKit's node and mark names). Unknown nodes keep their text as paragraphs, so nothing a
 * newer editor adds is lost from an export.
 */
export function storyBlocks(doc: Y.Doc): Block[] {
  return childBlocks(storyOf(doc));
}

/** Plain text of a run list. */
export function runsText(runs: Run[]): string {
  return runs.map((r) => r.text).join('');
}

/** Plain text of blocks, one line per paragraph (what diffs and search compare). */
export function blocksText(blocks: Block[]): string {
  const lines: string[] = [];
  const visit = (b: Block): void => {
    if (b.type === 'paragraph' || b.type === 'heading') lines.push(runsText(b.runs));
    else if (b.type === 'code') lines.push(b.text);
    else if (b.type === 'quote') b.blocks.forEach(visit);
    else if (b.type === 'list') b.items.forEach((item) => item.forEach(visit));
  };
  blocks.forEach(visit);
  return lines.join('\n');
}

/** True when any run of the blocks is AI-written (exports add a legend then). */
export function hasAiText(blocks: Block[]): boolean {
  return blocks.some((b) =>
    b.type === 'paragraph' || b.type === 'heading'
      ? b.runs.some((r) => r.ai && r.text.length > 0)
      : b.type === 'quote'
        ? hasAiText(b.blocks)
        : b.type === 'list'
          ? b.items.some(hasAiText)
          : false,
  );
}

function childBlocks(node: Y.XmlFragment | Y.XmlElement): Block[] {
  const blocks: Block[] = [];
  for (const child of node.toArray()) {
    if (child instanceof Y.XmlElement) blocks.push(...elementBlocks(child));
    else if (child instanceof Y.XmlText) blocks.push({ type: 'paragraph', runs: textRuns(child) });
  }
  return blocks;
}

function elementBlocks(el: Y.XmlElement): Block[] {
  switch (el.nodeName) {
    case 'paragraph':
      return [{ type: 'paragraph', runs: inlineRuns(el) }];
    case 'heading': {
      const level = Number(el.getAttribute('level') ?? 1);
      return [{ type: 'heading', level: Number.isInteger(level) && level >= 1 && level <= 6 ? level : 1, runs: inlineRuns(el) }];
    }
    case 'blockquote':
      return [{ type: 'quote', blocks: childBlocks(el) }];
    case 'bulletList':
    case 'orderedList':
      return [{ type: 'list', ordered: el.nodeName === 'orderedList', items: el.toArray().map((item) => (item instanceof Y.XmlElement ? childBlocks(item) : [])) }];
    case 'codeBlock':
      return [{ type: 'code', text: runsText(inlineRuns(el)) }];
    case 'horizontalRule':
      return [{ type: 'rule' }];
    default: {
      const inner = childBlocks(el);
      return inner.length > 0 ? inner : [];
    }
  }
}

/** Inline content of a textblock: its text nodes, and hard breaks as newlines. */
function inlineRuns(el: Y.XmlElement): Run[] {
  const runs: Run[] = [];
  for (const child of el.toArray()) {
    if (child instanceof Y.XmlText) runs.push(...textRuns(child));
    else if (child instanceof Y.XmlElement && child.nodeName === 'hardBreak') runs.push(plainRun('\n'));
    else if (child instanceof Y.XmlElement) runs.push(...inlineRuns(child));
  }
  return runs;
}

function textRuns(text: Y.XmlText): Run[] {
  const delta = text.toDelta() as Array<{ insert: unknown; attributes?: Record<string, unknown> }>;
  return delta
    .filter((d): d is { insert: string; attributes?: Record<string, unknown> } => typeof d.insert === 'string' && d.insert.length > 0)
    .map(({ insert, attributes = {} }) => {
      const has = (name: string) => Object.keys(attributes).some((k) => k === name || k.startsWith(`${name}--`));
      return { text: insert, bold: has('bold'), italic: has('italic'), strike: has('strike'), code: has('code'), ai: has(AI_MARK) };
    });
}

function plainRun(text: string): Run {
  return { text, bold: false, italic: false, strike: false, code: false, ai: false };
}
