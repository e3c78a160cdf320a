import * as Y from 'yjs';

/**
 * The wire form of an anchor: a Yjs relative position (Y.encodeRelativePosition) in base64. The
 * client encodes it from the editor selection; the server decodes it to place AI text.
 */

/** Bytes → base64, in the browser and in Node (btoa, no Buffer). */
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

/** The relative position, or null when `anchor` is empty, not base64 or not an encoded position. */
export function decodeAnchor(anchor: string): Y.RelativePosition | null {
  try {
    const bytes = fromBase64(anchor);
    if (bytes.length === 0) return null;
    const pos = Y.decodeRelativePosition(bytes);
    // Arbitrary bytes can decode to a position naming no type, root or item, which Yjs cannot
    // resolve (it throws "Unexpected case").
    return pos.type === null && pos.tname === null && pos.item === null ? null : pos;
  } catch {
    return null;
  }
}
