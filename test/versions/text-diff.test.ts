import { describe, expect, it } from 'vitest';
import { diffParagraphs } from '../../server/src/versions/text-diff';
import type { DiffPart } from '../../shared/src/index';

const side = (diff: DiffPart[], skip: DiffPart['op']) => diff.filter((p) => p.op !== skip).map((p) => p.text).join('');

describe('diffParagraphs (version preview)', () => {
  it('empty and equal stories', () => {
    expect(diffParagraphs([], [])).toEqual([]);
    expect(diffParagraphs(['One.', 'Two.'], ['One.', 'Two.'])).toEqual([{ op: 'equal', text: 'One.\nTwo.' }]);
    expect(diffParagraphs([], ['New.'])).toEqual([{ op: 'insert', text: 'New.' }]);
    expect(diffParagraphs(['Old.'], [])).toEqual([{ op: 'delete', text: 'Old.' }]);
  });

  it('a paragraph added and a word changed, each side rebuilt exactly', () => {
    const from = ['She left at dawn.', 'The end.'];
    const to = ['She left at dusk.', 'Rain.', 'The end.'];
    const diff = diffParagraphs(from, to);
    expect(side(diff, 'insert')).toBe(from.join('\n'));
    expect(side(diff, 'delete')).toBe(to.join('\n'));
    expect(diff).toEqual([
      { op: 'equal', text: 'She left at ' },
      { op: 'delete', text: 'dawn' },
      { op: 'insert', text: 'dusk' },
      { op: 'equal', text: '.\n' },
      { op: 'insert', text: 'Rain.\n' },
      { op: 'equal', text: 'The end.' },
    ]);
  });

  it('two long, wholly different stories: given up on quickly, the whole story reads as replaced', () => {
    const words = (seed: number) => Array.from({ length: 30_000 }, (_, i) => `w${(i * seed) % 9973}`).join(' ');
    const started = performance.now();
    const diff = diffParagraphs([words(7)], [words(13)]);
    expect(diff).toEqual([{ op: 'delete', text: words(7) }, { op: 'insert', text: words(13) }]);
    // Bounded by the limits, not by the stories (unbounded, this one takes about a minute).
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
