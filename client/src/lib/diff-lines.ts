import type { DiffPart } from '@ensemble/shared';

/** A piece of one displayed paragraph. */
export interface DiffPiece {
  op: DiffPart['op'];
  text: string;
}

/**
 * The diff's runs laid out as paragraphs for display: every '\n' starts a new paragraph. A break
 * that only one side has (inside an insert or delete run) is kept visible as a '¶' in that run.
 */
export function diffParagraphsForDisplay(diff: readonly DiffPart[]): DiffPiece[][] {
  const paragraphs: DiffPiece[][] = [[]];
  for (const part of diff) {
    const lines = part.text.split('\n');
    lines.forEach((line, i) => {
      if (i > 0) {
        if (part.op !== 'equal') paragraphs.at(-1)!.push({ op: part.op, text: '¶' });
        paragraphs.push([]);
      }
      if (line) paragraphs.at(-1)!.push({ op: part.op, text: line });
    });
  }
  return paragraphs;
}
