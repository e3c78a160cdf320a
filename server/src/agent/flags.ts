import * as Y from 'yjs';
import { authorsOf, bibleOf, BIBLE_KEYS, storyOf, type ModerationFlag } from '@ensemble/shared';
import { newId } from '../ids';
import type { Moderation } from './moderation';

/** What the flagger needs from its room. */
export interface FlaggerDeps {
  /** The room's moderation list (server words and the owner's), or null when flagging is off (not a classroom). */
  moderation(): Promise<Moderation | null>;
  /** Sends one new flag to the room's owner. */
  notify(flag: ModerationFlag): void;
  now?: () => Date;
}

const MAX_FLAGS = 200;
/** A scan waits for a short pause in typing (so a flag shows whole words), but never longer than MAX_WAIT_MS. */
const PAUSE_MS = 600;
const MAX_WAIT_MS = 2000;

/** Characters of a text with the Yjs client that wrote each run. */
interface Run {
  text: string;
  clients: Array<{ from: number; client: number; clock: number }>;
}

function storyRuns(doc: Y.Doc): Run[] {
  const out: Run[] = [];
  const walk = (node: Y.XmlFragment | Y.XmlElement): void => {
    for (const child of node.toArray()) {
      if (child instanceof Y.XmlText) {
        const run: Run = { text: '', clients: [] };
        for (let item = child._start; item !== null; item = item.right) {
          if (item.deleted || !item.countable || !(item.content instanceof Y.ContentString)) continue;
          run.clients.push({ from: run.text.length, client: item.id.client, clock: item.id.clock });
          run.text += item.content.str;
        }
        out.push(run);
      } else if (child instanceof Y.XmlElement) walk(child);
    }
  };
  walk(storyOf(doc));
  return out;
}

/** The Yjs id of the character at `index`: who wrote it, and a name for it that edits around it do not change. */
function idAt(run: Run, index: number): { client: number; clock: number } | null {
  let at: Run['clients'][number] | null = null;
  for (const c of run.clients) {
    if (c.from > index) break;
    at = c;
  }
  return at ? { client: at.client, clock: at.clock + index - at.from } : null;
}

function excerptOf(text: string, index: number, length: number): string {
  const from = Math.max(0, text.lastIndexOf(' ', Math.max(0, index - 24)));
  const to = text.indexOf(' ', Math.min(text.length, index + length + 24));
  return `${from > 0 ? '…' : ''}${text.slice(from, to < 0 ? text.length : to).trim()}${to >= 0 ? '…' : ''}`;
}

/**
 * Flags, never blocks, words from the moderation lists in text members typed (story and bible) in
 * a classroom: after each burst of human edits the text is scanned, and every occurrence not
 * flagged before goes to the owner as a ModerationFlag (who, where, the word, a short excerpt).
 * Occurrences are told apart by the Yjs id of their first character, so re-scans do not repeat them.
 * The agent's own text is left to the output filter. Flags live with the room's agent in memory.
 */
export class HumanTextFlags {
  private readonly flags: ModerationFlag[] = [];
  private readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private firstEditAt = 0;

  constructor(private readonly deps: FlaggerDeps) {}

  list(): ModerationFlag[] {
    return [...this.flags];
  }

  /** A human edit reached the document: scan it shortly (edits come in bursts while typing). */
  schedule(doc: Y.Doc): void {
    const now = Date.now();
    if (this.timer) clearTimeout(this.timer);
    else this.firstEditAt = now;
    const wait = Math.max(0, Math.min(PAUSE_MS, this.firstEditAt + MAX_WAIT_MS - now));
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.scan(doc);
    }, wait);
    this.timer.unref?.();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async scan(doc: Y.Doc): Promise<ModerationFlag[]> {
    const moderation = await this.deps.moderation().catch(() => null);
    if (!moderation) return [];
    const authors = authorsOf(doc);
    const human = (client: number | null) => {
      const a = client === null ? undefined : authors.get(String(client));
      return a && a.kind === 'human' ? a : null;
    };
    // Each occurrence is named by the Yjs id of its first character, so typing on does not repeat it.
    const found: Array<Omit<ModerationFlag, 'id' | 'at'> & { key: string }> = [];
    for (const run of storyRuns(doc)) {
      for (const m of moderation.matches(run.text)) {
        const id = idAt(run, m.index);
        const who = human(id ? id.client : null);
        if (id && who) found.push({ key: `${id.client}:${id.clock}:${m.word.toLowerCase()}`, memberId: who.memberId, displayName: who.displayName, where: 'story', word: m.word, excerpt: excerptOf(run.text, m.index, m.length) });
      }
    }
    const bible = bibleOf(doc);
    for (const key of BIBLE_KEYS) {
      const value = bible.get(key);
      if (typeof value !== 'string') continue;
      // A bible field is one value, written whole by whoever saved it last.
      const item = (bible as unknown as { _map: Map<string, Y.Item> })._map.get(key);
      const who = human(item ? item.id.client : null);
      if (!who) continue;
      for (const m of moderation.matches(value)) found.push({ key: `${item!.id.client}:${item!.id.clock}:${m.index}:${m.word.toLowerCase()}`, memberId: who.memberId, displayName: who.displayName, where: `bible:${key}`, word: m.word, excerpt: excerptOf(value, m.index, m.length) });
    }
    const fresh: ModerationFlag[] = [];
    const now = (this.deps.now ?? (() => new Date()))().toISOString();
    for (const { key, ...f } of found) {
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      const flag: ModerationFlag = { id: newId(), ...f, at: now };
      fresh.push(flag);
      this.flags.unshift(flag);
      if (this.flags.length > MAX_FLAGS) this.flags.pop();
      this.deps.notify(flag);
    }
    return fresh;
  }
}
