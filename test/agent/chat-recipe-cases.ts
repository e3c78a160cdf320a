// The canonical story the chat-template references are rendered from: each mode's messages as
// PromptBuilder builds them for an instruct model. `models/recipes/chat_messages.mts` writes them
// to models/recipes/chat_messages.json, which models/recipes/chat_template_refs.py renders.
import * as Y from 'yjs';
import { bibleOf, encodeAnchor, newPanel, panelsOf, storyOf, type ProposalMode } from '../../shared/src/index';
import { PromptBuilder, parseAnchor, resolveAnchor } from '../../server/src/agent/index';
import type { ChatMessage } from '../../server/src/inference/index';

const STORY = [
  '“The lamp has never failed,” Mira said, and then it did.',
  'Tomas walked to the cliff and looked at the sea for a while. Then he ran. Étienne? Nobody else had a key — except the ghost.',
];

export function recipeMessages(): Record<ProposalMode, ChatMessage[]> {
  const doc = new Y.Doc();
  const story = storyOf(doc);
  doc.transact(() => {
    story.insert(0, STORY.map(() => new Y.XmlElement('paragraph')));
    STORY.forEach((text, i) => {
      const t = new Y.XmlText();
      (story.get(i) as Y.XmlElement).insert(0, [t]);
      t.insert(0, text);
    });
    bibleOf(doc).set('characters', 'Mira, a lighthouse keeper who collects lost letters; Tomas, her brother.');
    bibleOf(doc).set('setting', 'a storm-bitten island in 1912');
    bibleOf(doc).set('tone', 'wistful, quietly funny');
    panelsOf(doc).push([newPanel({ id: 'p1', caption: 'the lighthouse at dusk, gulls circling', shotType: 'wide', durationSec: 3, imageId: '' })]);
  });
  const at = (p: number, index: number) => {
    const t = (story.get(p) as Y.XmlElement).get(0) as Y.XmlText;
    return resolveAnchor(doc, parseAnchor(encodeAnchor(Y.createRelativePositionFromTypeIndex(t, index))));
  };
  const b = new PromptBuilder({ maxChars: 4000, afterChars: 200, instruct: true });
  return {
    continue: b.build(doc, at(1, 60), 'continue', undefined, null, { kind: 'writers-room' }).messages!,
    rewrite: b.build(doc, at(1, 0), 'rewrite', 'make it tenser', at(1, 60), { kind: 'classroom', moderation: true }).messages!,
    describe: b.build(doc, at(0, 56), 'describe', undefined, null, { kind: 'storyboard' }).messages!,
    brainstorm: b.build(doc, at(1, STORY[1]!.length), 'brainstorm', undefined, null, { kind: 'writers-room', moderation: true }).messages!,
  };
}
