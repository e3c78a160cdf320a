import type * as Y from 'yjs';
import { bibleOf, BIBLE_KEYS, type BibleKey } from '@ensemble/shared';

export type Bible = Record<BibleKey, string>;

export function readBible(doc: Y.Doc): Bible {
  const map = bibleOf(doc);
  const out = {} as Bible;
  for (const key of BIBLE_KEYS) {
    const value = map.get(key);
    out[key] = typeof value === 'string' ? value : '';
  }
  return out;
}

/** Writes only the changed keys (a no-op write would still be a Yjs update for everyone). */
export function writeBible(doc: Y.Doc, changes: Partial<Bible>): number {
  const map = bibleOf(doc);
  let written = 0;
  doc.transact(() => {
    for (const key of BIBLE_KEYS) {
      const value = changes[key];
      if (value !== undefined && map.get(key) !== value) {
        map.set(key, value);
        written++;
      }
    }
  });
  return written;
}

export const BIBLE_LABELS: Record<BibleKey, { label: string; hint: string }> = {
  characters: { label: 'Characters', hint: 'Who they are, what they want, how they speak' },
  setting: { label: 'Setting', hint: 'Where and when the story takes place' },
  tone: { label: 'Tone', hint: 'Voice, mood, genre, point of view' },
};
