import { Extension } from '@tiptap/core';
import type { Node as PmNode } from '@tiptap/pm/model';
import { Plugin, PluginKey, type EditorState, type Transaction } from '@tiptap/pm/state';
import { Decoration, DecorationSet } from '@tiptap/pm/view';
import { ySyncPluginKey } from '@tiptap/y-tiptap';
import type { CommentAnchor } from '@ensemble/shared';
import { resolveAnchor } from '../lib/anchor';

/** A thread's passage to tint in the editor; `active` is the thread selected in the panel. */
export interface CommentHighlight {
  id: string;
  anchor: CommentAnchor;
  active: boolean;
}

interface HighlightState {
  highlights: CommentHighlight[];
  decorations: DecorationSet;
}

export const commentHighlightKey = new PluginKey<HighlightState>('ensembleCommentHighlights');

/** The passage's ProseMirror range now, clamped to the document; null when orphaned or not yet bound. */
export function passageInEditor(state: EditorState, anchor: CommentAnchor): { from: number; to: number } | null {
  const start = resolveAnchor(state, anchor.start);
  const end = resolveAnchor(state, anchor.end);
  if (start === null || end === null) return null;
  const size = state.doc.content.size;
  const from = Math.max(0, Math.min(start, size));
  const to = Math.max(0, Math.min(end, size));
  return to > from ? { from, to } : null;
}

function build(state: EditorState, highlights: CommentHighlight[]): DecorationSet {
  const decorations: Decoration[] = [];
  for (const h of highlights) {
    const range = passageInEditor(state, h.anchor);
    if (!range) continue;
    decorations.push(
      Decoration.inline(range.from, range.to, { class: h.active ? 'comment-highlight active' : 'comment-highlight', 'data-thread-id': h.id }, { threadId: h.id }),
    );
  }
  try {
    return DecorationSet.create(state.doc, decorations);
  } catch {
    // A decoration ProseMirror cannot place must never break rendering the story.
    return DecorationSet.empty;
  }
}

/**
 * Positions from anchors are only right once the Collaboration binding's mapping matches the
 * document: after its own transactions (remote edits, undo, the first render) and when the
 * highlights change. A local edit reaches the mapping only after the view updated, so for those
 * the previous decorations are mapped through the edit instead of resolved again.
 */
function apply(tr: Transaction, value: HighlightState, state: EditorState): HighlightState {
  const next = tr.getMeta(commentHighlightKey) as CommentHighlight[] | undefined;
  const highlights = next ?? value.highlights;
  if (next !== undefined || tr.getMeta(ySyncPluginKey) !== undefined) return { highlights, decorations: build(state, highlights) };
  if (!tr.docChanged) return value;
  return { highlights, decorations: value.decorations.map(tr.mapping, tr.doc as PmNode) };
}

export interface CommentHighlightsOptions {
  /** A click on highlighted text: the thread it belongs to. */
  onActivate: (threadId: string) => void;
}

/** Tints the passages of comment threads; set them with `setCommentHighlights`. */
export const CommentHighlights = Extension.create<CommentHighlightsOptions>({
  name: 'commentHighlights',
  addOptions() {
    return { onActivate: () => {} };
  },
  addProseMirrorPlugins() {
    const { onActivate } = this.options;
    return [
      new Plugin<HighlightState>({
        key: commentHighlightKey,
        state: {
          init: () => ({ highlights: [], decorations: DecorationSet.empty }),
          apply: (tr, value, _old, state) => apply(tr, value, state),
        },
        props: {
          decorations: (state) => commentHighlightKey.getState(state)?.decorations ?? null,
          handleClick: (view, pos) => {
            const found = commentHighlightKey.getState(view.state)?.decorations.find(pos, pos) ?? [];
            const threadId = (found[0]?.spec as { threadId?: string } | undefined)?.threadId;
            if (threadId) onActivate(threadId);
            return false;
          },
        },
      }),
    ];
  },
});

export function setCommentHighlights(view: { state: EditorState; dispatch: (tr: Transaction) => void }, highlights: CommentHighlight[]): void {
  view.dispatch(view.state.tr.setMeta(commentHighlightKey, highlights).setMeta('addToHistory', false));
}
