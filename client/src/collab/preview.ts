import { Extension } from '@tiptap/core';
import { Plugin, PluginKey, type EditorState } from '@tiptap/pm/state';
import { Decoration, DecorationSet } from '@tiptap/pm/view';
import { resolveAnchor } from '../lib/anchor';

export interface PreviewState {
  anchor: string;
  text: string;
  label: string;
}

export const previewKey = new PluginKey<PreviewState | null>('ensembleProposalPreview');

function widget(preview: PreviewState): HTMLElement {
  const span = document.createElement('span');
  span.className = 'ai-preview';
  span.setAttribute('data-testid', 'ai-preview');
  span.setAttribute('aria-label', `Preview of ${preview.label}`);
  span.textContent = preview.text || '…';
  return span;
}

function decorations(state: EditorState): DecorationSet | null {
  const preview = previewKey.getState(state);
  if (!preview) return null;
  const pos = resolveAnchor(state, preview.anchor);
  // Decorations run on every view update: a position outside the document would throw there.
  if (pos === null || pos < 0 || pos > state.doc.content.size) return null;
  return DecorationSet.create(state.doc, [
    Decoration.widget(pos, () => widget(preview), { side: 1, key: `${preview.label}:${preview.text.length}`, ignoreSelection: true }),
  ]);
}

/** Shows a proposal's text in grey italics at its anchor, without touching the document. */
export const ProposalPreview = Extension.create({
  name: 'proposalPreview',
  addProseMirrorPlugins() {
    return [
      new Plugin<PreviewState | null>({
        key: previewKey,
        state: {
          init: () => null,
          apply: (tr, value) => {
            const meta = tr.getMeta(previewKey) as PreviewState | null | undefined;
            return meta === undefined ? value : meta;
          },
        },
        props: { decorations: (state) => decorations(state) },
      }),
    ];
  },
});

export interface AskShortcutOptions {
  onAsk: () => void;
}

/** Ctrl/Cmd+Enter in the editor asks the AI with the panel's current settings. */
export const AskShortcut = Extension.create<AskShortcutOptions>({
  name: 'askShortcut',
  // Before StarterKit's hard break, which also binds Mod-Enter.
  priority: 1000,
  addOptions() {
    return { onAsk: () => {} };
  },
  addKeyboardShortcuts() {
    return {
      'Mod-Enter': () => {
        this.options.onAsk();
        return true;
      },
    };
  },
});
