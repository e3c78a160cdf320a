/**
 * Message recipes for instruct models (ModelInfo.instruct): each proposal mode as a system
 * message (the co-writer's role, the story bible, the room's rules) and a user message (the
 * instruction with the text around the cursor, the selection for rewrite, storyboard panel
 * captions for describe). The inference engine renders them through the model's chat template.
 * Everything is sized to a character budget, the story text cut from the left.
 */
import { BIBLE_KEYS, type ProposalMode, type RoomKind } from '@ensemble/shared';
import type { ChatMessage } from '../inference';

/** What the room contributes to the system message. */
export interface RoomRules {
  kind: RoomKind;
  /** The moderation filter is on (always for classrooms). */
  moderation?: boolean;
}

export interface ChatPromptInput {
  mode: ProposalMode;
  bible: ReadonlyMap<string, string> | null;
  before: string;
  after: string;
  selection: string;
  instruction?: string;
  /** Storyboard panels (shot type and caption), for describe. */
  panels?: ReadonlyArray<{ shotType: string; caption: string }>;
  room?: RoomRules;
}

export const CO_WRITER_ROLE =
  'You are a co-writer in a shared story, writing alongside a room of human authors. ' +
  "Write only the new text, in the story's own voice, tense and point of view. " +
  'No preamble, no quotation marks around your text, no headings, notes or explanations.';

export const CLASSROOM_SAFETY =
  'This room is a classroom: everything you write must be suitable for children aged 8 to 14 — ' +
  'no graphic violence, no romance or sexual content, no profanity, nothing cruel or frightening beyond a mild adventure.';

/** The same, for a model whose context is too short for the full wording. */
export const CO_WRITER_ROLE_SHORT = "You co-write a shared story. Write only the new text, in the story's voice.";
export const CLASSROOM_SAFETY_SHORT = 'Classroom: keep it suitable for children.';

const ROOM_LINES: Record<RoomKind, string | null> = {
  'writers-room': null,
  classroom: CLASSROOM_SAFETY,
  storyboard: 'This story is being storyboarded: favour concrete, visual moments a single panel could show.',
};

const SHORT_ROOM_LINES: Record<RoomKind, string | null> = { 'writers-room': null, classroom: CLASSROOM_SAFETY_SHORT, storyboard: null };

/** `s` on one line, cut to `max` characters with an ellipsis. */
export function clip(s: string, max: number): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length <= max ? t : t.slice(0, Math.max(0, max - 1)).trimEnd() + '…';
}

const TASKS: Record<ProposalMode, string> = {
  continue: 'Continue the story from the cursor with the next one or two sentences. If the text stops mid-sentence, finish that sentence first.',
  rewrite: 'Rewrite the selected passage so that it still fits between the text before and after it. Reply with the new passage only.',
  describe: 'Describe the scene at the cursor in vivid, concrete detail, in one to three sentences that fit at the cursor.',
  brainstorm: 'Suggest three short ideas for what could happen next, one per line, without numbering or bullets.',
};


/** The last `max` characters of `text`, starting at a word boundary when one is near. */
export function tailOf(text: string, max: number): string {
  if (text.length <= max) return text;
  let t = text.slice(text.length - Math.max(0, max));
  const sp = t.search(/\s/);
  if (sp > 0 && sp < 40) t = t.slice(sp + 1);
  return t;
}

function headOf(text: string, max: number): string {
  if (text.length <= max) return text;
  const t = text.slice(0, Math.max(0, max));
  const sp = t.search(/\s\S*$/);
  return sp > max - 40 ? t.slice(0, sp) : t;
}

export function systemMessage(input: Pick<ChatPromptInput, 'bible' | 'room'>, budget: number): string {
  const full = composeSystem(input, budget, false);
  return full.length <= budget ? full : composeSystem(input, budget, true);
}

function composeSystem(input: Pick<ChatPromptInput, 'bible' | 'room'>, budget: number, short: boolean): string {
  const parts = [short ? CO_WRITER_ROLE_SHORT : CO_WRITER_ROLE];
  const bible: string[] = [];
  for (const key of BIBLE_KEYS) {
    const v = input.bible?.get(key);
    if (typeof v === 'string' && v.trim()) bible.push(`${key[0]!.toUpperCase()}${key.slice(1)}: ${clip(v, 300)}`);
  }
  if (bible.length) parts.push(`Story bible:\n${bible.join('\n')}`);
  const rules: string[] = [];
  const kindLine = input.room ? (short ? SHORT_ROOM_LINES[input.room.kind] : ROOM_LINES[input.room.kind]) : null;
  if (kindLine) rules.push(kindLine);
  if (input.room?.moderation && input.room.kind !== 'classroom') rules.push('Keep the language clean: no profanity or slurs.');
  if (rules.length) parts.push(`Room rules:\n${rules.join('\n')}`);
  let text = parts.join('\n\n');
  // The role and the rules matter more than a long bible: shorten the bible, never the rules.
  if (text.length > budget && bible.length) {
    const fixed = text.length - bible.join('\n').length;
    const each = Math.max(40, Math.floor((budget - fixed) / bible.length) - 16);
    parts[1] = `Story bible:\n${bible.map((b) => clip(b, each)).join('\n')}`;
    text = parts.join('\n\n');
  }
  return text;
}

/**
 * The system and user messages of one proposal, at most `maxChars` characters of content in all:
 * the system message first (bounded to 40%), then the instruction, selection, captions and the
 * text after the cursor, and whatever is left for the text before the cursor (cut from the left).
 */
export function chatMessages(input: ChatPromptInput, maxChars: number): ChatMessage[] {
  const system = systemMessage(input, Math.floor(maxChars * 0.4));
  const head = [TASKS[input.mode]];
  if (input.instruction?.trim()) head.push(`The authors ask: ${clip(input.instruction, 300)}`);
  const sections: string[] = [head.join(' ')];
  if (input.mode === 'describe' && input.panels?.length) {
    const captions = input.panels.filter((p) => p.caption.trim()).slice(-3);
    if (captions.length) sections.push(`Storyboard panel captions:\n${captions.map((p) => `- (${p.shotType}) ${clip(p.caption, 200)}`).join('\n')}`);
  }
  let room = maxChars - system.length - sections.join('\n\n').length;
  const isRewrite = input.mode === 'rewrite' && input.selection.trim() !== '';
  const selection = isRewrite ? headOf(input.selection.trim(), Math.max(80, Math.floor(room * 0.4))) : '';
  const after = input.mode === 'brainstorm' ? '' : headOf(input.after.trim(), Math.max(0, Math.min(input.after.length, Math.floor(room * 0.2))));
  // The text before the cursor is what the model writes on from: it keeps at least 30% of the budget.
  room = Math.max(room - selection.length - after.length - 120, Math.floor(maxChars * 0.3));
  const before = tailOf(input.before.trimEnd(), Math.max(0, room)).trimStart();
  const where = isRewrite ? 'selection' : 'cursor';
  if (before) sections.push(`Text before the ${where}:\n${before}`);
  else if (!isRewrite) sections.push('The story is empty so far: write its opening.');
  if (isRewrite) sections.push(`Selected passage:\n${selection}`);
  if (after) sections.push(`Text after the ${where}:\n${after}`);
  return [
    { role: 'system', content: system },
    { role: 'user', content: sections.join('\n\n') },
  ];
}
