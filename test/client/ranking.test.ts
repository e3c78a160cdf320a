import { describe, expect, it } from 'vitest';
import { applyRanking, moveIndex, rankLabel } from '../../client/src/lib/ranking';

const items = [0, 1, 2, 3].map((index) => ({ index }));

describe('applyRanking', () => {
  it('orders by the ranking', () => {
    expect(applyRanking(items, [2, 0, 3, 1]).map((i) => i.index)).toEqual([2, 0, 3, 1]);
  });
  it('keeps natural order without a ranking', () => {
    expect(applyRanking([{ index: 2 }, { index: 0 }], undefined).map((i) => i.index)).toEqual([0, 2]);
  });
  it('puts unranked items after ranked ones and ignores unknown or repeated indexes', () => {
    expect(applyRanking(items, [3, 9, 3, 1]).map((i) => i.index)).toEqual([3, 1, 0, 2]);
  });
  it('labels ranks', () => {
    expect(rankLabel(3, [2, 3])).toBe('#2');
    expect(rankLabel(1, [2, 3])).toBe('');
    expect(rankLabel(1, undefined)).toBe('');
  });
  it('clamps moves', () => {
    expect(moveIndex(3, 0, 5)).toBe(2);
    expect(moveIndex(3, 1, 1)).toBeNull();
    expect(moveIndex(3, 4, 0)).toBeNull();
  });
});
