import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { EncodedAnchor } from '@ensemble/shared';
import { decodeAnchor, encodeAnchor, fromBase64, toBase64 } from '../../client/src/lib/anchor';

describe('anchor encoding', () => {
  it('base64 round-trips arbitrary bytes, including large ones', () => {
    const bytes = new Uint8Array(70000).map((_, i) => (i * 31) % 256);
    expect(fromBase64(toBase64(bytes))).toEqual(bytes);
    expect(toBase64(new Uint8Array([0xfb, 0xff]))).toBe('+/8=');
  });

  it('encodes a relative position the server can decode, and it follows concurrent edits', () => {
    const doc = new Y.Doc();
    const text = doc.getText('t');
    text.insert(0, 'Hello world');
    const anchor = encodeAnchor(Y.createRelativePositionFromTypeIndex(text, 5));
    expect(EncodedAnchor.safeParse(anchor).success).toBe(true);

    // Another client inserts before the anchor; the anchor still points after "Hello".
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc));
    other.getText('t').insert(0, '>> ');
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(other));

    const rel = decodeAnchor(anchor)!;
    const abs = Y.createAbsolutePositionFromRelativePosition(rel, doc)!;
    expect(abs.index).toBe(8);
    expect(text.toString().slice(0, abs.index)).toBe('>> Hello');
  });

  it('returns null for garbage', () => {
    expect(decodeAnchor('%%%')).toBeNull();
  });

  it('returns null for bytes that decode to a position naming nothing (Yjs would throw "Unexpected case")', () => {
    // 'auto' was what auto-mode cards carried as their anchor.
    const raw = Y.decodeRelativePosition(fromBase64('auto'));
    expect(() => Y.createAbsolutePositionFromRelativePosition(raw, new Y.Doc())).toThrow('Unexpected case');
    expect(decodeAnchor('auto')).toBeNull();
  });
});
