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
  /** Comment threads on passages of the story: thread id → Y.Map (see comments.ts). */
  comments: 'comments',
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

/**
 * The story's plain text (paragraphs joined by newlines) with where each Yjs type of the story
 * starts in it, so a Yjs position can be turned into an offset of that text (comment anchors).
 */
export interface StoryIndex {
  text: string;
  /** Offset in `text` where each text node's content starts. */
  textStart: Map<Y.XmlText, number>;
  /** For each element (and the story itself), the offset where each child starts, plus its end. */
  childStart: Map<Y.XmlElement | Y.XmlFragment, number[]>;
}

export function indexStory(doc: Y.Doc): StoryIndex {
  let text = '';
  let paragraphs = 0;
  const textStart = new Map<Y.XmlText, number>();
  const childStart = new Map<Y.XmlElement | Y.XmlFragment, number[]>();
  const walk = (node: Y.XmlElement | Y.XmlFragment): void => {
    const starts: number[] = [];
    childStart.set(node, starts);
    for (const child of node.toArray()) {
      if (child instanceof Y.XmlElement) {
        // Every element opens a paragraph, nested ones too (a quote's paragraph follows an empty one).
        if (paragraphs > 0) text += '\n';
        paragraphs++;
        starts.push(text.length);
        walk(child);
      } else if (child instanceof Y.XmlText) {
        if (paragraphs === 0) paragraphs++;
        starts.push(text.length);
        textStart.set(child, text.length);
        const delta = child.toDelta() as Array<{ insert: unknown }>;
        text += delta.map((d) => (typeof d.insert === 'string' ? d.insert : '')).join('');
      } else starts.push(text.length);
    }
    starts.push(text.length);
  };
  walk(storyOf(doc));
  return { text, textStart, childStart };
}

/**
 * The story's paragraphs as plain text, in order; a trailing empty paragraph (the editor's last,
 * still blank line) is left out. Version previews and diffs read it.
 */
export function storyParagraphs(doc: Y.Doc): string[] {
  const text = storyText(doc);
  return text === '' ? [] : text.split('\n');
}

/** Plain text of the story, paragraphs joined by newlines (for model context and provenance). */
export function storyText(doc: Y.Doc): string {
  const { text } = indexStory(doc);
  // An empty last paragraph (the editor's trailing one) is not part of the text.
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}
