/**
 * Word-list moderation for generated text. Applied in rooms whose settings have `moderation` on
 * (classrooms by default). Matching is case-insensitive on whole words (or whole phrases for
 * multi-word entries), after folding common letter substitutions (0→o, 1→i, 3→e, 4→a, 5→s, @→a, $→s).
 */
export const DEFAULT_BLOCKLIST: readonly string[] = [
  // Profanity and slurs are kept to a small, obvious core; deployments extend it with ENSEMBLE_BLOCKLIST.
  'fuck', 'fucking', 'shit', 'bitch', 'bastard', 'cunt', 'dick', 'cock', 'pussy', 'whore', 'slut',
  'asshole', 'motherfucker', 'nigger', 'faggot', 'retard',
  // Content unsuitable for a classroom.
  'porn', 'rape', 'raped', 'suicide', 'cocaine', 'heroin',
];

export type ModerationVerdict = { ok: true } | { ok: false; reason: string };

function fold(text: string): string {
  return text
    .toLowerCase()
    .replace(/[0]/g, 'o')
    .replace(/[1!|]/g, 'i')
    .replace(/3/g, 'e')
    .replace(/[4@]/g, 'a')
    .replace(/[5$]/g, 's');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One blocked word found in a text: where (in the text as given) and which list entry. */
export interface ModerationMatch {
  index: number;
  length: number;
  word: string;
}

export class Moderation {
  private readonly pattern: RegExp | null;
  private readonly derived = new Map<string, Moderation>();
  readonly words: readonly string[];

  constructor(extra: readonly string[] = [], includeDefaults = true) {
    const words = new Set<string>();
    for (const w of [...(includeDefaults ? DEFAULT_BLOCKLIST : []), ...extra]) {
      const t = fold(w.trim());
      if (t) words.add(t);
    }
    this.words = [...words];
    this.pattern = this.words.length
      ? new RegExp(`(?<![\\p{L}\\p{N}])(?:${this.words.map((w) => escapeRegExp(w).replace(/\s+/g, '\\s+')).join('|')})(?![\\p{L}\\p{N}])`, 'u')
      : null;
  }

  /** Parses ENSEMBLE_BLOCKLIST (comma-separated). */
  static fromConfig(blocklist: string | undefined): Moderation {
    return new Moderation((blocklist ?? '').split(',').filter((w) => w.trim().length > 0));
  }

  /** This list plus a room's own words (the teacher's list); cached per word set. */
  withWords(extra: readonly string[] | undefined): Moderation {
    if (!extra || extra.length === 0) return this;
    const key = [...extra].sort().join('\u0000');
    let m = this.derived.get(key);
    if (!m) {
      if (this.derived.size > 100) this.derived.clear();
      m = new Moderation([...this.words, ...extra], false);
      this.derived.set(key, m);
    }
    return m;
  }

  /** Every blocked word in `text` (folding keeps positions: it maps one character to one). */
  matches(text: string): ModerationMatch[] {
    if (!this.pattern) return [];
    const folded = fold(text);
    if (folded.length !== text.length) return this.check(text).ok ? [] : [{ index: 0, length: text.length, word: text }];
    const global = new RegExp(this.pattern.source, 'gu');
    const out: ModerationMatch[] = [];
    for (const m of folded.matchAll(global)) out.push({ index: m.index, length: m[0].length, word: text.slice(m.index, m.index + m[0].length) });
    return out;
  }

  /** `text` with every listed word replaced by as many asterisks (same length, so positions stay). */
  mask(text: string): string {
    let out = text;
    for (const m of this.matches(text)) out = out.slice(0, m.index) + '*'.repeat(m.length) + out.slice(m.index + m.length);
    return out;
  }

  check(text: string): ModerationVerdict {
    if (!this.pattern) return { ok: true };
    const m = this.pattern.exec(fold(text));
    if (!m) return { ok: true };
    return { ok: false, reason: 'the generated text contained a word on the room\'s blocklist' };
  }
}

/**
 * Streams text through the filter without letting a blocked word reach clients: only text up to
 * the last word boundary is released, and released text has been checked.
 */
export class ModeratedStream {
  private text = '';
  private released = 0;

  constructor(private readonly moderation: Moderation | null) {}

  /** Adds a delta; returns the text now safe to release, or a verdict when it must be dropped. */
  push(delta: string): { release: string } | { blocked: string } {
    this.text += delta;
    if (!this.moderation) {
      const out = this.text.slice(this.released);
      this.released = this.text.length;
      return { release: out };
    }
    // Release up to the last non-word character: the word in progress may still grow into a blocked one.
    let boundary = this.text.length;
    while (boundary > this.released && /[\p{L}\p{N}]/u.test(this.text[boundary - 1] ?? '')) boundary--;
    const verdict = this.moderation.check(this.text.slice(0, boundary));
    if (!verdict.ok) return { blocked: verdict.reason };
    const out = this.text.slice(this.released, boundary);
    this.released = boundary;
    return { release: out };
  }

  /** At the end of the stream: the rest of the text, or a verdict. */
  finish(): { release: string } | { blocked: string } {
    if (this.moderation) {
      const verdict = this.moderation.check(this.text);
      if (!verdict.ok) return { blocked: verdict.reason };
    }
    const out = this.text.slice(this.released);
    this.released = this.text.length;
    return { release: out };
  }

  get fullText(): string {
    return this.text;
  }
}
