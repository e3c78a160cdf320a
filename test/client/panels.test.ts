import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addPanel, clampDuration, deletePanel, isShotType, listPanels, movePanel, updatePanel } from '../../client/src/lib/panels';
import { readBible, writeBible } from '../../client/src/lib/bible';

function pair(): [Y.Doc, Y.Doc] {
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.on('update', (u: Uint8Array) => Y.applyUpdate(b, u, 'a'));
  b.on('update', (u: Uint8Array, origin: unknown) => origin !== 'a' && Y.applyUpdate(a, u, 'b'));
  return [a, b];
}

describe('storyboard panels', () => {
  it('adds, edits, reorders and deletes, and another client sees the same', () => {
    const [a, b] = pair();
    const p1 = addPanel(a, { caption: 'Harbour at dawn', shotType: 'wide' });
    const p2 = addPanel(a, { caption: 'Close on hands' });
    const p3 = addPanel(b, { caption: 'The letter' }, 0);
    expect(listPanels(b).map((p) => p.id)).toEqual([p3, p1, p2]);

    expect(movePanel(a, p3, 2)).toBe(true);
    expect(listPanels(b).map((p) => p.caption)).toEqual(['Harbour at dawn', 'Close on hands', 'The letter']);
    expect(movePanel(a, p3, 99)).toBe(false);

    updatePanel(b, p2, { shotType: 'close-up', durationSec: 4.5, imageId: 'img1' });
    expect(listPanels(a)[1]).toMatchObject({ id: p2, shotType: 'close-up', durationSec: 4.5, imageId: 'img1' });

    expect(deletePanel(a, p1)).toBe(true);
    expect(deletePanel(a, 'nope')).toBe(false);
    expect(listPanels(b).map((p) => p.id)).toEqual([p2, p3]);
  });

  it('a move keeps the panel fields', () => {
    const doc = new Y.Doc();
    const id = addPanel(doc, { caption: 'c', shotType: 'insert', durationSec: 2, imageId: 'x' });
    addPanel(doc);
    movePanel(doc, id, 1);
    expect(listPanels(doc)[1]).toEqual({ id, caption: 'c', shotType: 'insert', durationSec: 2, imageId: 'x' });
  });

  it('validates fields', () => {
    expect(isShotType('wide')).toBe(true);
    expect(isShotType('drone')).toBe(false);
    expect(clampDuration(0)).toBe(0.5);
    expect(clampDuration(1000)).toBe(120);
    expect(clampDuration(Number.NaN)).toBe(3);
    expect(clampDuration(2.345)).toBe(2.3);
  });
});

describe('story bible', () => {
  it('writes only changed keys and reads defaults', () => {
    const [a, b] = pair();
    expect(readBible(b)).toEqual({ characters: '', setting: '', tone: '' });
    expect(writeBible(a, { setting: 'A lighthouse, 1911', tone: 'quiet' })).toBe(2);
    expect(writeBible(a, { setting: 'A lighthouse, 1911' })).toBe(0);
    expect(readBible(b)).toEqual({ characters: '', setting: 'A lighthouse, 1911', tone: 'quiet' });
  });
});
