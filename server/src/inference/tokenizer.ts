/**
 * Tokenization through `@huggingface/tokenizers` (reads the model's tokenizer.json and
 * tokenizer_config.json; no hand-written BPE), plus incremental detokenization for streaming.
 */
import fs from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';

export class TextTokenizer {
  private constructor(
    private readonly tok: Tokenizer,
    /** Ids of special/added tokens, skipped when decoding. */
    readonly specialIds: ReadonlySet<number>,
  ) {}

  static fromFiles(tokenizerJsonPath: string, tokenizerConfigPath?: string): TextTokenizer {
    const json = JSON.parse(fs.readFileSync(tokenizerJsonPath, 'utf8')) as Record<string, unknown>;
    const config = tokenizerConfigPath
      ? (JSON.parse(fs.readFileSync(tokenizerConfigPath, 'utf8')) as Record<string, unknown>)
      : {};
    const tok = new Tokenizer(json, config);
    const special = new Set<number>();
    for (const [tid, added] of tok.get_added_tokens_decoder()) if (added.special) special.add(tid);
    return new TextTokenizer(tok, special);
  }

  /** Token ids for `text`; `addSpecialTokens` follows the tokenizer's post-processor (e.g. a BOS). */
  encode(text: string, addSpecialTokens = true): number[] {
    return this.tok.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: readonly number[], skipSpecialTokens = true): string {
    if (ids.length === 0) return '';
    return this.tok.decode(ids as number[], { skip_special_tokens: skipSpecialTokens, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }
}

/**
 * Streams text for a growing token list, emitting only complete characters.
 *
 * The algorithm is vLLM's `detokenize_incrementally`: decode a short window of tokens
 * (`prefixOffset..readOffset`) and the same window plus the new tokens; the new text is the
 * difference. While the decoded tail ends in U+FFFD (a byte-level token holding only part of a
 * multi-byte UTF-8 character) nothing is emitted; the bytes are emitted once the character is
 * complete. Context tokens (the end of the prompt) make leading spaces decode as the tokenizer
 * would inside a sentence.
 */
export class IncrementalDecoder {
  private ids: number[];
  private prefixOffset: number;
  private readOffset: number;

  constructor(
    private readonly tokenizer: TextTokenizer,
    context: readonly number[] = [],
  ) {
    const ctx = context.filter((t) => !tokenizer.specialIds.has(t)).slice(-5);
    this.ids = [...ctx];
    this.prefixOffset = 0;
    this.readOffset = this.ids.length;
  }

  /** Adds one token; returns the text that is now complete (possibly ''). */
  push(tokenId: number): string {
    this.ids.push(tokenId);
    const prefixText = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const newText = this.tokenizer.decode(this.ids.slice(this.prefixOffset));
    if (newText.length > prefixText.length && !newText.endsWith('\uFFFD') && newText.startsWith(prefixText)) {
      const delta = newText.slice(prefixText.length);
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      this.compact();
      return delta;
    }
    // Incomplete character (or a window whose decoding changed retroactively): wait for more tokens.
    return '';
  }

  /** Everything not yet emitted (called when the sequence ends; may contain U+FFFD). */
  flush(): string {
    const prefixText = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const newText = this.tokenizer.decode(this.ids.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset = this.ids.length;
    return newText.startsWith(prefixText) ? newText.slice(prefixText.length) : newText.slice(Math.min(prefixText.length, newText.length));
  }

  private compact(): void {
    // Keep the window small so each push decodes O(window) tokens, not the whole sequence.
    if (this.prefixOffset > 64) {
      this.ids = this.ids.slice(this.prefixOffset);
      this.readOffset -= this.prefixOffset;
      this.prefixOffset = 0;
    }
  }
}
