/** Words in a text: runs of letters/digits (apostrophes and hyphens inside a word keep it one). */
export function countWords(text: string): number {
  const words = text.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu);
  return words ? words.length : 0;
}

/** "12 words" / "1 word"; with a selection, "3 of 12 words selected". */
export function wordCountLabel(total: number, selected: number | null): string {
  const noun = (n: number) => (n === 1 ? 'word' : 'words');
  if (selected !== null) return `${selected} of ${total} ${noun(total)} selected`;
  return `${total} ${noun(total)}`;
}
