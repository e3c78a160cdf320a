/**
 * Only the new text from an instruct model's reply: chat models wrap what they write in
 * "Sure, here is…" preambles, labels, code fences and quotation marks, and sometimes repeat the
 * story text they were given before continuing it. `cleanInstructOutput` cleans a whole reply;
 * `InstructOutputStream` does the same while streaming: it holds the head of the reply back until
 * it can tell a preamble or an echo from the story, then releases text as it comes, holding back
 * only a tail that could still be a closing fence or quote.
 */
import type { ProposalMode } from '@ensemble/shared';

export interface CleanContext {
  mode: ProposalMode;
  /** The story text before the cursor (or the selection) that the model was shown. */
  before: string;
}

/** Characters of the reply held back before the head is decided (a preamble is shorter than this). */
const HEAD_HOLD = 64;
/** The shortest repeated piece of the story counted as an echo. */
const MIN_ECHO = 16;
/** How much of the end of `before` an echo is looked for in. */
const ECHO_WINDOW = 400;

/**
 * "Sure!" / "Of course, here is…": an assent is a preamble when it ends in "!", or when a
 * punctuation mark is followed by the reply's own framing (a new line, "Here…", "I've…", a label).
 * "Of course, she knew the way." and "Certainly the storm had passed." stay story text.
 */
const OPENERS =
  /^(?:sure|certainly|of course|okay|ok|absolutely|great|alright|all right|got it|happy to help|no problem)(?:!+[ \t]*|[,.:][ \t]*(?=\n|here|below|i've|i have|i'll|let me|continuation|rewritten|revised|description|ideas)|[ \t]*(?:[—–-])[ \t]*(?=here|below))/i;
/** "Here's a continuation of the story:" / "Here is a tenser version." — a sentence about the text, ending in ":" "." or "!". */
const HERE_LEAD = /^(?:here(?:'s|’s| is| are)|below is|below are|i've written|i have written)\b/i;
const HERE_LINE =
  /^(?:here(?:'s|’s| is| are)|below is|below are|i've written|i have written)\b[^\n.!:]{0,160}?\b(?:continuation|version|rewrite|rewritten|passage|description|ideas?|story|scene|text|draft|paragraph|suggestions?|sentences?|options?|take|lines?|part|section|response)\b[^\n.!:]{0,80}(?::|[.!])[ \t]*\n*/i;
/** The same lead ending its line with a colon ("Here's what happens next:\n") is a preamble whatever it names. */
const HERE_COLON_LINE = /^(?:here(?:'s|’s| is| are)|below is|below are|i've written|i have written)\b[^\n.!:]{0,160}:[ \t]*\n+/i;
const LABEL = /^(?:\*\*)?(?:continuation|continued|rewritten passage|rewritten text|rewrite|revised passage|revised text|description|scene description|ideas|new text|story)(?:\*\*)?[ \t]*:[ \t]*(?:\*\*)?\s*/i;
const FENCE_OPEN = /^```[\w-]*[ \t]*\n?/;
const FENCE_CLOSE = /\n?[ \t]*```[ \t]*$/;
/** A closing remark to the user, on its own line after the text. */
const CHATTER = /^\s*(?:i hope (?:this|that|you)|let me know|feel free|would you like|want me to|do you want)\b/i;
const QUOTES: Record<string, string> = { '"': '"', '“': '”', '«': '»', "'": "'", '‘': '’' };

/** Strips preambles, labels and an opening fence, repeatedly ("Sure! Here's the passage:\n```"). */
function stripPreamble(text: string): string {
  let t = text.replace(/^\s+/, '');
  for (let guard = 0; guard < 6; guard++) {
    const next = t
      .replace(OPENERS, '')
      .replace(HERE_LINE, '')
      .replace(HERE_COLON_LINE, '')
      .replace(LABEL, '')
      .replace(FENCE_OPEN, '')
      .replace(/^\s+/, '');
    if (next === t) break;
    t = next;
  }
  return t;
}

/**
 * For a reply that starts by repeating the end of the story: the length of the repeated part
 * (0 when it does not), and whether more of the reply could still extend it (`open`).
 */
export function echoLength(reply: string, before: string): { length: number; open: boolean } {
  const b = before.trimEnd().slice(-ECHO_WINDOW);
  let length = 0;
  let open = false;
  for (let p = 0; p + MIN_ECHO <= b.length; p++) {
    const suffix = b.slice(p);
    if (reply.startsWith(suffix)) length = Math.max(length, suffix.length);
    else if (suffix.startsWith(reply)) open = true;
  }
  return { length, open };
}

function stripEcho(text: string, ctx: CleanContext): string {
  if (ctx.mode === 'brainstorm') return text;
  const { length } = echoLength(text, ctx.before);
  return length > 0 ? text.slice(length).replace(/^[ \t]+/, '') : text;
}

/** The closing quote when the whole text is one quoted passage with no quote of that kind inside. */
function wrappingQuote(text: string): string | null {
  const close = QUOTES[text[0] ?? ''];
  if (!close) return null;
  const inner = text.slice(1);
  const at = inner.indexOf(close);
  const openAgain = close !== text[0] && inner.includes(text[0]!);
  return at === -1 || (at === inner.length - 1 && !openAgain) ? close : null;
}

function stripTail(text: string): string {
  let t = text.replace(/\s+$/, '');
  t = t.replace(FENCE_CLOSE, '').replace(/\s+$/, '');
  // Closing chatter after the text: "\n\nI hope this helps!", "Let me know if…".
  for (let guard = 0; guard < 4; guard++) {
    const nl = t.lastIndexOf('\n');
    const next = nl >= 0 && CHATTER.test(t.slice(nl + 1)) ? t.slice(0, nl).replace(/\s+$/, '') : t;
    if (next === t) break;
    t = next;
  }
  return t;
}

function stripListMarkers(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/^\s*(?:[-*•]|\d{1,2}[.)]|idea \d+:)\s+/i, '').trim())
    .filter((l) => l !== '')
    .join('\n');
}

/** Only the new text of a whole instruct reply. */
export function cleanInstructOutput(reply: string, ctx: CleanContext): string {
  let t = stripEcho(stripPreamble(reply), ctx);
  t = stripTail(t);
  const close = wrappingQuote(t);
  if (close && t.endsWith(close) && t.length > 1) t = t.slice(1, -1).trim();
  if (ctx.mode === 'brainstorm') t = stripListMarkers(t);
  return t;
}

/**
 * The streaming form: `push(delta)` returns what may be released now, `finish()` the rest. The
 * concatenation of everything released equals `cleanInstructOutput(reply)` for the same reply.
 */
export class InstructOutputStream {
  private raw = '';
  /** Cleaned text decided so far but not yet released (the tail that could still change). */
  private released = 0;
  private headDone = false;
  private body = '';

  constructor(private readonly ctx: CleanContext) {}

  push(delta: string): string {
    this.raw += delta;
    if (!this.headDone) {
      if (!this.headDecided()) return '';
      this.headDone = true;
    }
    return this.releasable();
  }

  finish(): string {
    const all = cleanInstructOutput(this.raw, this.ctx);
    // Whatever was released is a prefix of the full cleaning (the stream only releases text no rule can still remove).
    const rest = all.startsWith(this.body.slice(0, this.released)) ? all.slice(this.released) : '';
    this.released += rest.length;
    return rest;
  }

  /** The head is decided when no preamble rule or echo can change its start any more. */
  private headDecided(): boolean {
    const t = stripPreamble(this.raw);
    if (t.length < HEAD_HOLD && !/\n\S/.test(t)) return false;
    // "Here is a …" without its end yet: it may still turn out to be a preamble.
    if (HERE_LEAD.test(t) && !/[:.!\n]/.test(t) && t.length < 240) return false;
    if (this.ctx.mode !== 'brainstorm' && echoLength(t, this.ctx.before).open) return false;
    // An opening quote: wait until it is clearly dialogue (its closing quote followed by more text).
    const close = QUOTES[t[0] ?? ''];
    if (close && !new RegExp(`${escape(close)}\\s*\\S`).test(t.slice(1))) return false;
    return true;
  }

  private releasable(): string {
    const head = stripEcho(stripPreamble(this.raw), this.ctx);
    // Hold back the last line while it could be a closing fence, closing chatter or trailing space.
    const cut = this.ctx.mode === 'brainstorm' ? head.lastIndexOf('\n') : holdBackFrom(head);
    if (cut <= 0) return '';
    const stable = this.ctx.mode === 'brainstorm' ? stripListMarkers(head.slice(0, cut)) : head.slice(0, cut);
    if (stable.length <= this.released) return '';
    const out = stable.slice(this.released);
    this.body = stable;
    this.released = stable.length;
    return out;
  }
}

/** Where the tail that might still be removed starts: trailing spaces, quotes, backticks, or a new line. */
function holdBackFrom(text: string): number {
  const nl = text.lastIndexOf('\n');
  const trailing = /[\s"'”’»`]*$/.exec(text)!.index;
  let cut = nl >= 0 ? Math.min(nl, trailing) : trailing;
  // Complete lines of closing chatter stay held too: a later line may still be more of it.
  for (let prev = text.lastIndexOf('\n', cut - 1); prev >= 0 && cut > 0; prev = text.lastIndexOf('\n', cut - 1)) {
    const line = text.slice(prev + 1, cut);
    if (!(CHATTER.test(line) || line.trim() === '')) break;
    cut = prev;
  }
  while (cut > 0 && /\s/.test(text[cut - 1]!)) cut--;
  return cut;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
