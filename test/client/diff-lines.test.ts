import { describe, expect, it } from 'vitest';
import { diffParagraphsForDisplay } from '../../client/src/lib/diff-lines';

describe('diffParagraphsForDisplay (version preview)', () => {
  it('splits runs into paragraphs at every break; a break only one side has shows as ¶ in its run', () => {
    expect(
      diffParagraphsForDisplay([
        { op: 'equal', text: 'She left at ' },
        { op: 'delete', text: 'dawn' },
        { op: 'insert', text: 'dusk' },
        { op: 'equal', text: '.\n' },
        { op: 'insert', text: 'Rain.\n' },
        { op: 'equal', text: 'The end.' },
      ]),
    ).toEqual([
      [{ op: 'equal', text: 'She left at ' }, { op: 'delete', text: 'dawn' }, { op: 'insert', text: 'dusk' }, { op: 'equal', text: '.' }],
      [{ op: 'insert', text: 'Rain.' }, { op: 'insert', text: '¶' }],
      [{ op: 'equal', text: 'The end.' }],
    ]);
    expect(diffParagraphsForDisplay([])).toEqual([[]]);
  });
});
