/**
 * Cheap stylistic features of a text, each scaled to roughly [0, 1]: length (the signal a member
 * who prefers terse or expansive prose reacts to), word length, ornament (adverbs/adjective
 * suffixes, commas, exclamation), dialogue.
 */
export const FEATURE_NAMES = ['length', 'logLength', 'wordLength', 'ornament', 'commas', 'dialogue'] as const;

export function styleFeatures(text: string): number[] {
  const words = text.match(/[\p{L}\p{N}']+/gu) ?? [];
  const n = words.length;
  const chars = text.length;
  const avgWord = n ? words.reduce((s, w) => s + w.length, 0) / n : 0;
  const ornate = words.filter((w) => /(?:ly|ous|ful|ive|ent|ant|ing|est)$/i.test(w) && w.length > 4).length;
  const commas = (text.match(/[,;:—–!]/g) ?? []).length;
  const quotes = (text.match(/["“”]/g) ?? []).length;
  return [
    Math.min(1, chars / 400),
    Math.log1p(chars) / Math.log1p(800),
    Math.min(1, avgWord / 10),
    n ? Math.min(1, (ornate / n) * 4) : 0,
    n ? Math.min(1, (commas / n) * 5) : 0,
    Math.min(1, quotes / 4),
  ];
}
