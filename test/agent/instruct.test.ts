// Instruct models: the message recipe of each mode, and cleaning a chat reply down to the new text.
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { bibleOf, encodeAnchor, newPanel, panelsOf, storyOf, type ProposalMode } from '../../shared/src/index';
import { PromptBuilder, ProposalService, parseAnchor, resolveAnchor } from '../../server/src/agent/index';
import { GenerationStream, type GenerateRequest } from '../../server/src/inference/index';
import { CLASSROOM_SAFETY, CO_WRITER_ROLE, chatMessages, tailOf } from '../../server/src/agent/chat-prompt';
import { InstructOutputStream, cleanInstructOutput, echoLength, type CleanContext } from '../../server/src/agent/instruct-output';

function storyDoc(paragraphs: string[]): Y.Doc {
  const doc = new Y.Doc();
  const story = storyOf(doc);
  doc.transact(() => {
    story.insert(0, paragraphs.map(() => new Y.XmlElement('paragraph')));
    paragraphs.forEach((text, i) => {
      const t = new Y.XmlText();
      (story.get(i) as Y.XmlElement).insert(0, [t]);
      if (text) t.insert(0, text);
    });
  });
  return doc;
}
function anchorAt(doc: Y.Doc, p: number, index: number) {
  const t = (storyOf(doc).get(p) as Y.XmlElement).get(0) as Y.XmlText;
  return resolveAnchor(doc, parseAnchor(encodeAnchor(Y.createRelativePositionFromTypeIndex(t, index))));
}

const STORY = ['The storm came in fast over the island.', 'Tomas walked to the cliff and looked at the sea for a while. Then he ran.'];

describe('chat message recipes (PromptBuilder with instruct: true)', () => {
  const doc = storyDoc(STORY);
  bibleOf(doc).set('characters', 'Mira, a lighthouse keeper; Tomas, her brother');
  bibleOf(doc).set('tone', 'wistful');
  const builder = new PromptBuilder({ maxChars: 2000, afterChars: 200, instruct: true });

  it('continue: system = role + bible (+ room rules), user = task + text before and after the cursor', () => {
    const parts = builder.build(doc, anchorAt(doc, 1, 60), 'continue', 'make it scary', null, { kind: 'writers-room' });
    const [system, user] = parts.messages!;
    expect(system!.role).toBe('system');
    expect(system!.content).toBe(`${CO_WRITER_ROLE}\n\nStory bible:\nCharacters: Mira, a lighthouse keeper; Tomas, her brother\nTone: wistful`);
    expect(user!.role).toBe('user');
    expect(user!.content).toContain('Continue the story from the cursor');
    expect(user!.content).toContain('The authors ask: make it scary');
    expect(user!.content).toContain('Text before the cursor:\nThe storm came in fast over the island.\nTomas walked to the cliff and looked at the sea for a while.');
    expect(user!.content).toContain('Text after the cursor:\nThen he ran.');
    expect(parts.clean).toEqual({ mode: 'continue', before: parts.before });
  });

  it('a classroom gets the safety line; a moderated room a clean-language line', () => {
    const classroom = builder.build(doc, anchorAt(doc, 1, 10), 'continue', undefined, null, { kind: 'classroom', moderation: true });
    expect(classroom.messages![0]!.content).toContain(`Room rules:\n${CLASSROOM_SAFETY}`);
    const moderated = builder.build(doc, anchorAt(doc, 1, 10), 'continue', undefined, null, { kind: 'writers-room', moderation: true });
    expect(moderated.messages![0]!.content).toContain('Keep the language clean');
    expect(builder.build(doc, anchorAt(doc, 1, 10), 'continue').messages![0]!.content).not.toContain('Room rules');
  });

  it('rewrite carries the selection between the text before and after it', () => {
    const parts = builder.build(doc, anchorAt(doc, 1, 0), 'rewrite', 'tenser', anchorAt(doc, 1, 60), { kind: 'writers-room' });
    const user = parts.messages![1]!.content;
    expect(parts.selection).toBe('Tomas walked to the cliff and looked at the sea for a while.');
    expect(user).toContain('Rewrite the selected passage');
    expect(user).toContain('Text before the selection:\nThe storm came in fast over the island.\n');
    expect(user).toContain('Selected passage:\nTomas walked to the cliff and looked at the sea for a while.');
    expect(user).toContain('Text after the selection:\nThen he ran.');
    expect(user.indexOf('Text before')).toBeLessThan(user.indexOf('Selected passage'));
  });

  it('describe in a storyboard carries the panel captions; brainstorm asks for one idea per line', () => {
    const board = storyDoc(STORY);
    panelsOf(board).push([newPanel({ id: 'p1', caption: 'the lighthouse at dusk, gulls circling', shotType: 'wide', durationSec: 3, imageId: '' })]);
    const d = builder.build(board, anchorAt(board, 0, 39), 'describe', undefined, null, { kind: 'storyboard' });
    expect(d.messages![1]!.content).toContain('Storyboard panel captions:\n- (wide) the lighthouse at dusk, gulls circling');
    expect(d.messages![0]!.content).toContain('storyboarded');
    const b = builder.build(doc, anchorAt(doc, 1, 72), 'brainstorm');
    expect(b.messages![1]!.content).toContain('one per line, without numbering');
    expect(b.messages![1]!.content).not.toContain('Text after');
  });

  it('cuts the story from the left to fit the budget, keeping the rules and the text nearest the cursor', () => {
    const long = storyDoc(['word '.repeat(2000) + 'END']);
    const parts = new PromptBuilder({ maxChars: 1200, afterChars: 0, instruct: true }).build(long, anchorAt(long, 0, 10003), 'continue', undefined, null, { kind: 'classroom' });
    const total = parts.messages!.reduce((n, m) => n + m.content.length, 0);
    expect(total).toBeLessThanOrEqual(1200);
    expect(parts.messages![1]!.content.endsWith('word END')).toBe(true);
    expect(parts.messages![0]!.content).toContain(CLASSROOM_SAFETY);
    expect(tailOf('alpha beta gamma', 9)).toBe('gamma');
  });

  it('an empty story asks for an opening; a base model keeps the completion prompt (no messages)', () => {
    const empty = chatMessages({ mode: 'continue', bible: null, before: '', after: '', selection: '' }, 1000);
    expect(empty[1]!.content).toContain('The story is empty so far');
    const base = new PromptBuilder({ maxChars: 300, afterChars: 50 }).build(doc, anchorAt(doc, 1, 60), 'continue');
    expect(base.messages).toBeUndefined();
    expect(base.prompt.endsWith('looked at the sea for a while.')).toBe(true);
  });
});

const BEFORE = 'The lamp had never failed. Mira climbed the stairs, counting each step, and at the top she found';
const ctx = (mode: ProposalMode = 'continue', before = BEFORE): CleanContext => ({ mode, before });

/** Realistic chat-model replies and the new text they hold. */
const REPLIES: Array<[string, string, CleanContext]> = [
  ['Sure, here is a continuation of the story:\n\nthe door already open, and the lens dark.', 'the door already open, and the lens dark.', ctx()],
  ["Sure! Here's the next part:\n\n```\nthe door already open, and the lens dark.\n```", 'the door already open, and the lens dark.', ctx()],
  ["Here's a tenser version:\n\"Tomas sprinted to the cliff edge and stared at the churning sea.\"", 'Tomas sprinted to the cliff edge and stared at the churning sea.', ctx('rewrite', 'The storm came in fast.')],
  ['“Tomas sprinted to the cliff edge.”', 'Tomas sprinted to the cliff edge.', ctx('rewrite', 'x')],
  ['Certainly. Rewritten passage: Tomas ran.', 'Tomas ran.', ctx('rewrite', 'x')],
  ['Of course! Here is a vivid description of the scene. The lantern room smelled of oil and salt, its brass gone green.', 'The lantern room smelled of oil and salt, its brass gone green.', ctx('describe')],
  [`counting each step, and at the top she found the door already open.`, 'the door already open.', ctx()],
  [`${BEFORE} a letter pinned to the lens.`, 'a letter pinned to the lens.', ctx()],
  ['the door already open.\n\nI hope this helps!\nLet me know if you want another version.', 'the door already open.', ctx()],
  ['Here are three ideas:\n1. The ghost writes back.\n2. Tomas finds the key.\n- A ship runs aground.', 'The ghost writes back.\nTomas finds the key.\nA ship runs aground.', ctx('brainstorm')],
  // Story text that only looks like a preamble, or begins with dialogue, stays as it is.
  ['“The lamp has never failed,” Mira said, and then it did.', '“The lamp has never failed,” Mira said, and then it did.', ctx()],
  ['Here the path narrowed. Mira kept going.', 'Here the path narrowed. Mira kept going.', ctx()],
  ['Surely someone had been reading her letters.', 'Surely someone had been reading her letters.', ctx()],
  ['"Run," he said. "Now."', '"Run," he said. "Now."', ctx()],
  ['Of course, she knew the way.', 'Of course, she knew the way.', ctx()],
  ['Certainly the storm had passed by morning.', 'Certainly the storm had passed by morning.', ctx()],
  ['Okay.\nThe fog lifted.', 'The fog lifted.', ctx()],
];

describe('cleaning an instruct reply', () => {
  it.each(REPLIES)('%j → only the new text', (reply, expected, c) => {
    expect(cleanInstructOutput(reply, c)).toBe(expected);
  });

  it('streams the same text as the whole-reply cleaning, however the reply is chunked', () => {
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (const [reply, expected, c] of REPLIES) {
      for (let trial = 0; trial < 5; trial++) {
        const s = new InstructOutputStream(c);
        let out = '';
        for (let i = 0; i < reply.length; ) {
          const n = 1 + rand(6);
          out += s.push(reply.slice(i, i + n));
          i += n;
        }
        out += s.finish();
        expect(out).toBe(expected);
      }
    }
  });

  it('holds a preamble back and releases story text before the reply ends', () => {
    const s = new InstructOutputStream(ctx());
    expect(s.push('Sure, here is a continuation')).toBe('');
    expect(s.push(' of the story:\n\n')).toBe('');
    const tokens = 'the door already open, and the lens dark, and the keeper gone down to the rocks with a lantern. '.split(/(?<= )/);
    let early = '';
    for (const t of tokens) early += s.push(t);
    expect(early.startsWith('the door already open')).toBe(true);
    expect(early + s.finish()).toBe(tokens.join('').trim());
  });

  it('echoLength finds a repeated end of the story and says when it is still undecided', () => {
    expect(echoLength('at the top she found a key', BEFORE)).toEqual({ length: 'at the top she found'.length, open: false });
    expect(echoLength('counting each st', BEFORE).open).toBe(true);
    expect(echoLength('A key.', BEFORE)).toEqual({ length: 0, open: false });
  });
});

describe('ProposalService with messages', () => {
  it('sends the messages without stop strings, with the instruct token budget, and streams only the cleaned text', async () => {
    const seen: GenerateRequest[] = [];
    const chunks = ['Sure', ', here is', ' the next part:\n\n', '"The dog ran', ' home,', '" said Tom.', '\n\nI hope this helps!'];
    const engine = {
      generate(req: GenerateRequest) {
        seen.push(req);
        const s = new GenerationStream(() => {});
        queueMicrotask(() => {
          for (const text of chunks) s.push({ text, tokenId: 0 });
          s.finish({ text: chunks.join(''), finishReason: 'stop', tokens: chunks.length });
        });
        return s;
      },
    };
    const deltas: string[] = [];
    let done: { text: string; finishReason: string } | undefined;
    const messages = [{ role: 'user' as const, content: 'Continue.' }];
    await new ProposalService(engine).run({ prompt: 'log text', messages, clean: { mode: 'continue', before: 'Tom waved.' } }, 'room1', 1, new AbortController().signal, null, {
      onDelta: (t) => deltas.push(t),
      onDone: (d) => (done = d),
      onFailed: (e) => {
        throw e;
      },
    });
    expect(seen[0]).toMatchObject({ messages, stop: [], maxTokens: 96 });
    expect(done).toEqual({ text: '"The dog ran home," said Tom.', finishReason: 'stop' });
    expect(deltas.join('')).toBe(done!.text);
    // A prompt string (a base model) goes out as before: the configured stop strings, no messages.
    await new ProposalService(engine).run('Once', 'room1', 1, new AbortController().signal, null, { onDelta: () => {}, onDone: () => {}, onFailed: () => {} });
    expect(seen[1]).toMatchObject({ prompt: 'Once', stop: ['\n\n'], maxTokens: 48 });
    expect(seen[1]!.messages).toBeUndefined();
  });
});

describe('the chat-template references render what the agent sends', () => {
  it("each mode's messages in test/inference/fixtures/chat-templates are PromptBuilder's (rerun models/recipes/chat_messages.mts and chat_template_refs.py when the recipe changes)", async () => {
    const { recipeMessages } = await import('./chat-recipe-cases');
    const fs = await import('node:fs');
    const path = await import('node:path');
    const built = recipeMessages();
    for (const name of ['chatml', 'llama3', 'gemma', 'named-list']) {
      const ref = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'inference', 'fixtures', 'chat-templates', `${name}.json`), 'utf8')) as { cases: Array<{ name: string; messages: unknown }> };
      for (const mode of ['continue', 'rewrite', 'describe', 'brainstorm'] as const) {
        expect(ref.cases.find((c) => c.name === mode)!.messages).toEqual(built[mode]);
      }
    }
  });
});
