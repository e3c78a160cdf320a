import * as Y from 'yjs';
import type { EditorState } from '@tiptap/pm/state';
import { decodeAnchor, encodeAnchor } from '@ensemble/shared';
import { absolutePositionToRelativePosition, relativePositionToAbsolutePosition, ySyncPluginKey } from '@tiptap/y-tiptap';

export { decodeAnchor, encodeAnchor, fromBase64, toBase64 } from '@ensemble/shared';

interface YSyncState {
  doc: Y.Doc;
  type: Y.XmlFragment;
  binding: { mapping: Map<Y.AbstractType<unknown>, unknown> } | null;
}

function ySyncState(state: EditorState): YSyncState | null {
  const ystate = ySyncPluginKey.getState(state) as YSyncState | undefined;
  return ystate?.binding ? ystate : null;
}

/** Base64 anchor for a ProseMirror position, via the Collaboration binding's mapping. */
export function anchorAt(state: EditorState, pos: number): string | null {
  const ystate = ySyncState(state);
  if (!ystate?.binding) return null;
  const rel = absolutePositionToRelativePosition(pos, ystate.type, ystate.binding.mapping as never) as Y.RelativePosition | null;
  return rel ? encodeAnchor(rel) : null;
}

/** The anchors for the current selection: `anchor` at its start (the cursor), `anchorEnd` when not empty. */
export function selectionAnchors(state: EditorState): { anchor: string; anchorEnd?: string } | null {
  const { from, to, empty } = state.selection;
  // Continue from the cursor; for a selection, the request is about the selected range.
  const anchor = anchorAt(state, empty ? to : from);
  if (!anchor) return null;
  if (empty) return { anchor };
  const anchorEnd = anchorAt(state, to);
  return anchorEnd ? { anchor, anchorEnd } : { anchor };
}

/** ProseMirror position of an anchor in the current document, or null when its text is gone. */
export function resolveAnchor(state: EditorState, anchor: string): number | null {
  const ystate = ySyncState(state);
  const rel = decodeAnchor(anchor);
  if (!ystate?.binding || !rel) return null;
  let abs: number | null;
  try {
    abs = relativePositionToAbsolutePosition(ystate.doc, ystate.type, rel, ystate.binding.mapping as never);
  } catch {
    // A position Yjs cannot resolve in this document is no position, not a reason to crash.
    return null;
  }
  if (abs === null || abs < 0 || abs > state.doc.content.size) return null;
  return abs;
}
