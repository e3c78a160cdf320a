/**
 * One request's output (vLLM's IncrementalDetokenizer + stop checker): the only owner of
 * detokenization and stop strings. Each sampled token's text goes through `append()`; text that
 * could still be the start of a stop string is held back (so a stop string is never streamed);
 * `finish()` flushes what the decoder still holds and runs the same stop scan over it.
 */
import { tokenClasses } from './token-classes';
import { IncrementalDecoder, type TextTokenizer } from './tokenizer';

/** Leading whitespace tokens an output asked to say something (`minTokens` > 0) may open with: a paragraph break. */
export const LEADING_BLANK_TOKENS = 2;

/**
 * Token healing for a prompt that ends in spaces: byte-level BPE attaches a space to the word after
 * it (" the"), so a prompt ending in a lone " " token asks the model to continue after a token it
 * almost never saw before a word, and the output opens with junk. The spaces are cut from the
 * prompt instead; the output then must open with a space-led word, and drops those spaces again
 * (RequestOutput's `healedSpace`), so it still continues the prompt as it was given.
 */
export function healTrailingSpace(prompt: string): { prompt: string; healedSpace: string } {
  const m = / +$/.exec(prompt);
  if (!m || m.index === 0) return { prompt, healedSpace: '' };
  return { prompt: prompt.slice(0, m.index), healedSpace: m[0] };
}

export interface OutputOptions {
  /** The request's minTokens: when above 0 the output is there to say something (see `constrain`). */
  minTokens?: number;
  /** Spaces `healTrailingSpace` cut from the prompt. */
  healedSpace?: string;
}

/**
 * Where the first stop sequence starts in `pending` (-1: none). Whitespace before the output's
 * first visible character does not count: a prompt that ends a paragraph makes a model open with
 * "\n\n", and a stop sequence found there would end the output before it has said anything.
 */
export function firstStop(emitted: string, pending: string, stops: string[]): number {
  const from = /\S/.test(emitted) ? 0 : pending.search(/\S/) < 0 ? pending.length : pending.search(/\S/);
  let cut = -1;
  for (const stop of stops) {
    if (!stop) continue;
    const i = pending.indexOf(stop, from);
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  return cut;
}

/** Length of the longest tail of `pending` that is a proper prefix of some stop string. */
function heldBack(pending: string, stops: string[]): number {
  let hold = 0;
  for (const stop of stops) {
    for (let k = Math.min(stop.length - 1, pending.length); k > hold; k--) {
      if (pending.endsWith(stop.slice(0, k))) {
        hold = k;
        break;
      }
    }
  }
  return hold;
}

export class RequestOutput {
  /** Everything emitted so far (what `onText` received, concatenated). */
  text = '';
  /** True once a stop string ended the output (nothing more is emitted). */
  stopped = false;
  /** True once the output (emitted or held back) has a visible, non-whitespace character. */
  visible = false;
  private pending = '';
  private lastToken = -1;
  private done = false;
  private tokens = 0;
  /** Leading spaces still to drop (the healed prompt's); 0 once any text came. */
  private unhealed: number;
  private readonly decoder: IncrementalDecoder;

  constructor(
    private readonly tokenizer: TextTokenizer,
    /** The prompt (its last tokens give the decoder its context). */
    context: readonly number[],
    private readonly stops: string[],
    private readonly onText?: (text: string, tokenId: number) => void,
    private readonly options: OutputOptions = {},
  ) {
    this.decoder = new IncrementalDecoder(tokenizer, context);
    this.unhealed = options.healedSpace?.length ?? 0;
  }

  /** Adds one generated token. Returns true when a stop string ended the output. */
  append(tokenId: number): boolean {
    if (this.done) return this.stopped;
    this.lastToken = tokenId;
    this.tokens++;
    this.take(this.decoder.push(tokenId));
    return this.release(tokenId, false);
  }

  /**
   * Masks (to -Infinity, in place) the next-token logits this output must not take: after a healed
   * prompt the first token must be a space-led word; and an output asked to say something
   * (`minTokens` > 0) may open with at most LEADING_BLANK_TOKENS whitespace tokens, so that a
   * paragraph-ending prompt cannot spend its whole budget on newlines. (End of sequence is held
   * off by the scheduler's `mayEnd` until the output is `visible`; a stop string in the leading
   * whitespace is ignored by `firstStop`.) A tokenizer without such tokens constrains nothing.
   */
  constrain(logits: Float32Array): void {
    const first = this.tokens === 0 && (this.options.healedSpace?.length ?? 0) > 0;
    const blankOnly = !first && !this.visible && (this.options.minTokens ?? 0) > 0 && this.tokens >= LEADING_BLANK_TOKENS;
    if (!first && !blankOnly) return;
    const classes = tokenClasses(this.tokenizer, logits.length);
    if (first) {
      if (!classes.spaceWord.includes(1)) return;
      for (let i = 0; i < logits.length; i++) if (!classes.spaceWord[i]) logits[i] = -Infinity;
    } else {
      for (let i = 0; i < logits.length; i++) if (classes.blank[i]) logits[i] = -Infinity;
    }
  }

  /** New decoded text: drops the healed spaces from the very start and notes visible text. */
  private take(piece: string): void {
    if (!piece) return;
    if (this.unhealed > 0 && !this.text && !this.pending) {
      let k = 0;
      while (k < this.unhealed && piece[k] === ' ') k++;
      piece = piece.slice(k);
      this.unhealed = 0;
    }
    if (!this.visible && /\S/.test(piece)) this.visible = true;
    this.pending += piece;
  }

  /**
   * The sequence ended: flushes the decoder (a stop string may still complete in that text) and
   * emits the rest. Returns true when that flush found a stop string. Idempotent.
   */
  finish(): boolean {
    if (this.done) return false;
    this.take(this.decoder.flush());
    return this.release(this.lastToken, true);
  }

  /** The one stop scan: emits what is safe, holds back a possible stop prefix unless `final`. */
  private release(tokenId: number, final: boolean): boolean {
    const cut = this.stops.length && this.pending ? firstStop(this.text, this.pending, this.stops) : -1;
    let out: string;
    if (cut >= 0) {
      out = this.pending.slice(0, cut);
      this.pending = '';
      this.stopped = true;
    } else {
      const hold = final ? 0 : heldBack(this.pending, this.stops);
      out = this.pending.slice(0, this.pending.length - hold);
      this.pending = this.pending.slice(this.pending.length - hold);
    }
    if (cut >= 0 || final) this.done = true;
    if (out) {
      this.text += out;
      this.onText?.(out, tokenId);
    }
    return cut >= 0;
  }
}
