import { describe, expect, it } from 'vitest';
import { colorFor, isHexColor } from '../../client/src/lib/colors';
import { presenceList } from '../../client/src/lib/presence';

describe('presenceList', () => {
  it('lists the agent first with its state, then me, then others; skips states without a user', () => {
    const states = new Map<number, Record<string, unknown>>([
      [5, { user: { name: 'Zed', color: '#123456', memberId: 'z' } }],
      [7, { user: { name: 'Ensemble AI', color: '#8b5cf6', agent: { state: 'writing', model: 'tiny' } } }],
      [1, { user: { name: 'Me', color: 'red', memberId: 'me', role: 'viewer' } }],
      [9, {}],
      [6, { user: { name: 'Amy', color: '#abcdef', memberId: 'a' } }],
    ]);
    const list = presenceList(states, 1);
    expect(list.map((e) => e.name)).toEqual(['Ensemble AI', 'Me', 'Amy', 'Zed']);
    expect(list[0]).toMatchObject({ isAgent: true, agentState: 'writing', model: 'tiny' });
    expect(list[1]).toMatchObject({ isSelf: true, role: 'viewer', color: '#868e96' });
  });
  it('shows a member with two tabs once', () => {
    const states = new Map<number, Record<string, unknown>>([
      [2, { user: { name: 'Amy', color: '#abcdef', memberId: 'a' } }],
      [3, { user: { name: 'Amy', color: '#abcdef', memberId: 'a' } }],
    ]);
    expect(presenceList(states, 99)).toHaveLength(1);
  });
});

describe('colors', () => {
  it('gives a stable, valid caret colour per id', () => {
    expect(colorFor('abc')).toBe(colorFor('abc'));
    expect(isHexColor(colorFor('xyz'))).toBe(true);
    expect(isHexColor('red')).toBe(false);
  });
});
