import type * as Y from 'yjs';
import { bibleOf, BIBLE_KEYS, panelsOf, readPanel, type ProposalMode } from '@ensemble/shared';
import type { ChatMessage } from '../inference';
import { linearizeStory, type ResolvedAnchor } from './anchor';
import { chatMessages, clip, type RoomRules } from './chat-prompt';
import type { CleanContext } from './instruct-output';

export interface PromptParts {
  /** What the model sees. */
  prompt: string;
  /** Story text just before the anchor (for recommendations and logs). */
  before: string;
  /** Story text just after the anchor. */
  after: string;
  /** For rewrite: the selected text being rewritten. */
  selection: string;
  /** Instruct models: the system and user messages (then `prompt` is their text, for records and logs). */
  messages?: ChatMessage[];
  /** Instruct models: what the reply's cleaning needs to know. */
  clean?: CleanContext;
}

export interface PromptOptions {
  /** Most characters of the whole prompt (the small built-in model has a short context). */
  maxChars: number;
  /** Characters of story after the anchor kept as context (not sent to a causal model for continue). */
  afterChars: number;
  /** The model is an instruct model (ModelInfo.instruct): build chat messages, not a completion prompt. */
  instruct?: boolean;
}

const MODE_LINES: Record<ProposalMode, string> = {
  continue: 'Continue the story from where it stops.',
  rewrite: 'Rewrite the selected passage.',
  describe: 'Describe the scene in vivid detail.',
  brainstorm: 'Suggest ideas for what could happen next.',
};


/**
 * Builds the model's context: a short header (story bible, mode, instruction) followed by the
 * story text before the anchor, cut from the left at a word boundary so that the whole prompt
 * fits `maxChars`. The header goes first and is bounded (≤ 40% of the budget) so that the story
 * text — what a small causal model actually continues — always ends the prompt.
 */
export class PromptBuilder {
  constructor(private readonly options: PromptOptions = { maxChars: 900, afterChars: 200 }) {}

  /**
   * `mask` (moderated rooms) hides listed words in what members wrote — story and bible — before the
   * model sees them; it keeps lengths, so anchor offsets stay right.
   */
  build(doc: Y.Doc, anchor: ResolvedAnchor, mode: ProposalMode, instruction?: string, end?: ResolvedAnchor | null, room?: RoomRules, mask: (text: string) => string = (t) => t): PromptParts {
    const { text: raw, offset } = linearizeStory(doc, anchor);
    const text = mask(raw);
    const at = offset ?? text.length;
    let endAt = at;
    if (end) {
      const e = linearizeStory(doc, end).offset;
      if (e !== null && e > at) endAt = e;
    }
    const before = text.slice(0, at);
    const selection = text.slice(at, endAt);
    const after = text.slice(endAt, endAt + this.options.afterChars);
    if (this.options.instruct) {
      const panels = mode === 'describe' ? panelsOf(doc).toArray().map(readPanel) : [];
      const bible = new Map(Object.entries(bibleOf(doc).toJSON() as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? mask(v) : ''] as [string, string]));
      const messages = chatMessages({ mode, bible, before, after, selection, ...(instruction ? { instruction } : {}), panels, ...(room ? { room } : {}) }, this.options.maxChars);
      const prompt = messages.map((m) => `[${m.role}]\n${m.content}`).join('\n\n');
      return { prompt, before, after, selection, messages, clean: { mode, before } };
    }
    return { prompt: this.compose(doc, before, selection, mode, instruction, mask), before, after, selection };
  }

  compose(doc: Y.Doc | null, before: string, selection: string, mode: ProposalMode, instruction?: string, mask: (text: string) => string = (t) => t): string {
    const bible = doc ? bibleOf(doc) : null;
    const headerBudget = Math.floor(this.options.maxChars * 0.4);
    const header: string[] = [];
    for (const key of BIBLE_KEYS) {
      const v = bible?.get(key);
      if (typeof v === 'string' && v.trim()) header.push(`${key[0]!.toUpperCase()}${key.slice(1)}: ${clip(mask(v), 160)}`);
    }
    header.push(MODE_LINES[mode]);
    if (instruction) header.push(`Instruction: ${clip(instruction, 200)}`);
    if (mode === 'rewrite' && selection.trim()) header.push(`Selected: ${clip(selection, 200)}`);
    let head = header.join('\n');
    if (head.length > headerBudget) head = head.slice(head.length - headerBudget);
    const room = Math.max(0, this.options.maxChars - head.length - 2);
    let story = before.length > room ? before.slice(before.length - room) : before;
    if (story.length < before.length) {
      const sp = story.search(/\s/);
      if (sp > 0 && sp < 40) story = story.slice(sp + 1);
    }
    let body = story;
    if (mode === 'describe' && !/\s$/.test(body) && body) body += ' ';
    if (mode === 'brainstorm') body = `${story}\n\nIdeas:\n-`;
    return `${head}\n\n${body}`.replace(/^\n+/, '');
  }
}
