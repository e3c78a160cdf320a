import { diffWordsWithSpace } from 'diff';
import type { DiffPart } from '@ensemble/shared';

/**
 * Past this many inserted plus deleted words the diff is not worth its cost (Myers is O(N·D)):
 * the preview then shows the whole story replaced.
 */
const MAX_EDIT_LENGTH = 20_000;

/**
 * Word-level diff between two stories given as paragraphs (joined with '\n', so paragraph breaks
 * are part of the runs): 'delete' runs are only in `from`, 'insert' runs only in `to`.
 */
export function diffParagraphs(from: readonly string[], to: readonly string[]): DiffPart[] {
  const before = from.join('\n');
  const after = to.join('\n');
  if (before === after) return before ? [{ op: 'equal', text: before }] : [];
  const changes = diffWordsWithSpace(before, after, { maxEditLength: MAX_EDIT_LENGTH });
  if (!changes) return [...(before ? [{ op: 'delete' as const, text: before }] : []), ...(after ? [{ op: 'insert' as const, text: after }] : [])];
  const parts: DiffPart[] = [];
  for (const change of changes) {
    const op = change.added ? 'insert' : change.removed ? 'delete' : 'equal';
    const last = parts.at(-1);
    if (last?.op === op) last.text += change.value;
    else if (change.value) parts.push({ op, text: change.value });
  }
  return parts;
}
