/**
 * One request's output (vLLM's IncrementalDetokenizer + stop checker): the only owner of
 * detokenization and stop strings. Each sampled token's text goes through `append()`; text that
 * could still be the start of a stop string is held back (so a stop string is never streamed);
 * `finish()` flushes what the decoder still holds and runs the same stop scan over it.
 */
import { IncrementalDecoder, type TextTokenizer } from './tokenizer';

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
  private pending = '';
  private lastToken = -1;
  private done = false;
  private readonly decoder: IncrementalDecoder;

  constructor(
    tokenizer: TextTokenizer,
    /** The prompt (its last tokens give the decoder its context). */
    context: readonly number[],
    private readonly stops: string[],
    private readonly onText?: (text: string, tokenId: number) => void,
  ) {
    this.decoder = new IncrementalDecoder(tokenizer, context);
  }

  /** Adds one generated token. Returns true when a stop string ended the output. */
  append(tokenId: number): boolean {
    if (this.done) return this.stopped;
    this.lastToken = tokenId;
    this.pending += this.decoder.push(tokenId);
    return this.release(tokenId, false);
  }

  /**
   * The sequence ended: flushes the decoder (a stop string may still complete in that text) and
   * emits the rest. Returns true when that flush found a stop string. Idempotent.
   */
  finish(): boolean {
    if (this.done) return false;
    this.pending += this.decoder.flush();
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
