/**
 * What each vocabulary entry looks like as text, for the output's token constraints (output.ts):
 * which tokens are a space-led word (" the", " \"") and which are whitespace only ("\n", " ").
 * Computed once per tokenizer and vocabulary size, on first use: one decode per id (about 15 ms per
 * 1,000 ids), each decoded after a plain letter so that tokenizers which drop a leading space at the
 * start of a text (SentencePiece's "▁") still show it.
 */
import type { TextTokenizer } from './tokenizer';

export interface TokenClasses {
  /** 1 where the token's text is spaces or tabs followed by a visible character. */
  spaceWord: Uint8Array;
  /** 1 where the token's text is non-empty and whitespace only. */
  blank: Uint8Array;
}

const cache = new WeakMap<TextTokenizer, Map<number, TokenClasses>>();

export function tokenClasses(tokenizer: TextTokenizer, vocabSize: number): TokenClasses {
  let bySize = cache.get(tokenizer);
  if (!bySize) cache.set(tokenizer, (bySize = new Map()));
  const known = bySize.get(vocabSize);
  if (known) return known;
  const spaceWord = new Uint8Array(vocabSize);
  const blank = new Uint8Array(vocabSize);
  const letter = tokenizer.encode('a', false).at(-1);
  const base = letter === undefined ? '' : tokenizer.decode([letter]);
  for (let id = 0; id < vocabSize; id++) {
    if (tokenizer.specialIds.has(id)) continue;
    let text: string;
    try {
      const joined = letter === undefined ? '' : tokenizer.decode([letter, id]);
      text = base && joined.startsWith(base) ? joined.slice(base.length) : tokenizer.decode([id]);
    } catch {
      continue; // an id past the tokenizer's vocabulary (the logits may be wider)
    }
    if (/^[ \t]+\S/.test(text)) spaceWord[id] = 1;
    else if (text && !/\S/.test(text)) blank[id] = 1;
  }
  const classes = { spaceWord, blank };
  bySize.set(vocabSize, classes);
  return classes;
}
