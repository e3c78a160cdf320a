import * as Y from 'yjs';
import type { EditorState } from '@tiptap/pm/state';
import { absolutePositionToRelativePosition, relativePositionToAbsolutePosition, ySyncPluginKey } from '@tiptap/y-tiptap';

/** Bytes → base64 (browser and Node; no Buffer). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function encodeAnchor(pos: Y.RelativePosition): string {
  return toBase64(Y.encodeRelativePosition(pos));
}

export function decodeAnchor(anchor: string): Y.RelativePosition | null {
  try {
    return Y.decodeRelativePosition(fromBase64(anchor));
  } catch {
    return null;
  }
}

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
  const abs = relativePositionToAbsolutePosition(ystate.doc, ystate.type, rel, ystate.binding.mapping as never);
  if (abs === null || abs < 0 || abs > state.doc.content.size) return null;
  return abs;
}
