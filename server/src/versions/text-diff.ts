import { diffWordsWithSpace } from 'diff';
import type { DiffPart } from '@ensemble/shared';

/**
 * Myers' diff costs O(N·D) and runs on the event loop: past this many changed tokens (words and
 * blanks), or this much time, the preview shows the whole story replaced instead.
 */
const LIMITS = { maxEditLength: 4000, timeout: 250 };

/**
 * Word-level diff between two stories given as paragraphs (joined with '\n', so paragraph breaks
 * are part of the runs): 'delete' runs are only in `from`, 'insert' runs only in `to`. Within a
 * change, a deletion comes before its insertion, and the blanks between changed words belong to
 * the change ("Night fell" → "Morning came" is one deletion and one insertion, not four runs).
 */
export function diffParagraphs(from: readonly string[], to: readonly string[]): DiffPart[] {
  const before = from.join('\n');
  const after = to.join('\n');
  if (before === after) return before ? [{ op: 'equal', text: before }] : [];
  const changes = diffWordsWithSpace(before, after, LIMITS);
  if (!changes) return withChange([], before, after);
  const parts: DiffPart[] = [];
  let deleted = '';
  let inserted = '';
  changes.forEach((change, i) => {
    if (change.removed) deleted += change.value;
    else if (change.added) inserted += change.value;
    else if ((deleted || inserted) && /^\s+$/.test(change.value) && (changes[i + 1]?.added || changes[i + 1]?.removed)) {
      deleted += change.value;
      inserted += change.value;
    } else {
      withChange(parts, deleted, inserted).push({ op: 'equal', text: change.value });
      deleted = inserted = '';
    }
  });
  return withChange(parts, deleted, inserted);
}

function withChange(parts: DiffPart[], deleted: string, inserted: string): DiffPart[] {
  if (deleted) parts.push({ op: 'delete', text: deleted });
  if (inserted) parts.push({ op: 'insert', text: inserted });
  return parts;
}
