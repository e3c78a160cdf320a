import * as Y from 'yjs';

/**
 * The layout of every room's Y.Doc, defined once for server and client.
 * Tiptap's Collaboration extension binds to `story` (`field: DOC_FIELDS.story`).
 */
export const DOC_FIELDS = {
  /** Rich text of the story: a ProseMirror document as y-prosemirror stores it. */
  story: 'story',
  /** Story bible: characters, setting, tone (all plain strings, editable by members). */
  bible: 'bible',
  /** Storyboard panels, in display order. Each entry is a Y.Map with the keys of `PanelFields`. */
  panels: 'panels',
  /**
   * Yjs client id (as a decimal string) → author, written by the server when it first sees a
   * client id in a member's update, and by the agent for its own client. Provenance reads it.
   */
  authors: 'authors',
} as const;

export interface AuthorEntry {
  memberId: string;
  displayName: string;
  kind: 'human' | 'agent';
}

export const BIBLE_KEYS = ['characters', 'setting', 'tone'] as const;
export type BibleKey = (typeof BIBLE_KEYS)[number];

export const SHOT_TYPES = ['wide', 'medium', 'close-up', 'extreme-close-up', 'over-the-shoulder', 'insert'] as const;
export type ShotType = (typeof SHOT_TYPES)[number];

export interface PanelFields {
  id: string;
  caption: string;
  shotType: ShotType;
  durationSec: number;
  /** Id of an accepted image, served at GET /api/rooms/:roomId/images/:imageId; '' when none. */
  imageId: string;
}

/**
 * ProseMirror mark that tags AI-written text. y-prosemirror stores a mark as a Y.XmlText format
 * attribute named after the mark whose value is the mark's attrs, so the server writes
 * `{ [AI_MARK]: AiMarkAttrs }` and the client's Tiptap mark of the same name renders it.
 */
export const AI_MARK = 'aiAuthored';
export interface AiMarkAttrs {
  proposalId: string;
  model: string;
  /** Member id of the human who accepted the proposal. */
  acceptedBy: string;
}

export function storyOf(doc: Y.Doc): Y.XmlFragment {
  return doc.getXmlFragment(DOC_FIELDS.story);
}
export function bibleOf(doc: Y.Doc): Y.Map<string> {
  return doc.getMap<string>(DOC_FIELDS.bible);
}
export function panelsOf(doc: Y.Doc): Y.Array<Y.Map<unknown>> {
  return doc.getArray<Y.Map<unknown>>(DOC_FIELDS.panels);
}

export function authorsOf(doc: Y.Doc): Y.Map<AuthorEntry> {
  return doc.getMap<AuthorEntry>(DOC_FIELDS.authors);
}

export function readPanel(panel: Y.Map<unknown>): PanelFields {
  return {
    id: String(panel.get('id') ?? ''),
    caption: String(panel.get('caption') ?? ''),
    shotType: (panel.get('shotType') as ShotType | undefined) ?? 'medium',
    durationSec: Number(panel.get('durationSec') ?? 3),
    imageId: String(panel.get('imageId') ?? ''),
  };
}

export function newPanel(fields: PanelFields): Y.Map<unknown> {
  const panel = new Y.Map<unknown>();
  for (const [key, value] of Object.entries(fields)) panel.set(key, value);
  return panel;
}

/** Plain text of the story, paragraphs joined by newlines (for model context and provenance). */
export function storyText(doc: Y.Doc): string {
  return storyParagraphs(doc).join('\n');
}

/**
 * The story's paragraphs (top-level blocks) as plain text, in order; a trailing empty paragraph
 * (the editor's last, still blank line) is left out. Version previews and diffs read it.
 */
export function storyParagraphs(doc: Y.Doc): string[] {
  const paragraphs: string[] = [];
  const walk = (node: Y.XmlElement | Y.XmlFragment | Y.XmlText): void => {
    if (node instanceof Y.XmlText) {
      const delta = node.toDelta() as Array<{ insert: unknown }>;
      paragraphs[paragraphs.length - 1] += delta.map((d) => (typeof d.insert === 'string' ? d.insert : '')).join('');
      return;
    }
    for (const child of node.toArray()) {
      if (child instanceof Y.XmlElement) {
        paragraphs.push('');
        walk(child);
      } else if (child instanceof Y.XmlText) {
        if (paragraphs.length === 0) paragraphs.push('');
        walk(child);
      }
    }
  };
  walk(storyOf(doc));
  return paragraphs.filter((p, i) => p.length > 0 || i < paragraphs.length - 1);
}
