import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';
import { AI_MARK, authorsOf, bibleOf, encodeAnchor, storyOf, storyText, type AuthorEntry } from '../../shared/src/index';
import {
  AgentPresence,
  AgentWriter,
  ModeratedStream,
  Moderation,
  PromptBuilder,
  RateLimiter,
  insertAiText,
  linearizeStory,
  parseAnchor,
  resolveAnchor,
} from '../../server/src/agent/index';
import { computeProvenance } from '../../server/src/provenance/provenance';

/** A story laid out as y-prosemirror stores it: paragraphs (XmlElement) holding one XmlText each. */
function storyDoc(paragraphs: string[], clientID = 101): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  const story = storyOf(doc);
  doc.transact(() => {
    story.insert(
      0,
      paragraphs.map(() => new Y.XmlElement('paragraph')),
    );
    paragraphs.forEach((text, i) => {
      const t = new Y.XmlText();
      (story.get(i) as Y.XmlElement).insert(0, [t]);
      if (text) t.insert(0, text);
    });
  });
  return doc;
}

function textOf(doc: Y.Doc, p: number): Y.XmlText {
  return (storyOf(doc).get(p) as Y.XmlElement).get(0) as Y.XmlText;
}

/** What the editor binding sends: a relative position in the paragraph's XmlText, base64. */
function anchorAt(doc: Y.Doc, p: number, index: number): string {
  return encodeAnchor(Y.createRelativePositionFromTypeIndex(textOf(doc, p), index));
}

describe('anchors', () => {
  it('resolves a cursor inside text and at the end of a paragraph', () => {
    const doc = storyDoc(['The rain fell.', 'She opened the door']);
    const mid = resolveAnchor(doc, parseAnchor(anchorAt(doc, 0, 8)));
    expect(mid.type).toBe(textOf(doc, 0));
    expect(mid.index).toBe(8);
    const end = resolveAnchor(doc, parseAnchor(anchorAt(doc, 1, 19)));
    expect(end.type).toBe(textOf(doc, 1));
    expect(end.index).toBe(19);
    // The cursor follows concurrent edits before it.
    textOf(doc, 0).insert(0, 'Outside, ');
    expect(resolveAnchor(doc, parseAnchor(anchorAt(doc, 0, 17))).index).toBe(17);
  });

  it('linearizes the story and finds the anchor offset', () => {
    const doc = storyDoc(['One two.', 'Three four']);
    const at = resolveAnchor(doc, parseAnchor(anchorAt(doc, 1, 5)));
    const lin = linearizeStory(doc, at);
    expect(lin.text).toBe('One two.\nThree four');
    expect(lin.text.slice(0, lin.offset!)).toBe('One two.\nThree');
    expect(lin.blocks).toEqual(['One two.', 'Three four']);
    expect(lin.text).toBe(storyText(doc));
  });

  it('reports anchor_deleted when the anchored text or paragraph was deleted', () => {
    const doc = storyDoc(['The rain fell hard.', 'Second']);
    const a = parseAnchor(anchorAt(doc, 0, 9));
    textOf(doc, 0).delete(4, 10);
    expect(() => resolveAnchor(doc, a)).toThrow(expect.objectContaining({ code: 'anchor_deleted' }));
    const b = parseAnchor(anchorAt(doc, 1, 6)); // end of paragraph: points at the XmlText itself
    storyOf(doc).delete(1, 1);
    expect(() => resolveAnchor(doc, b)).toThrow(expect.objectContaining({ code: 'anchor_deleted' }));
  });

  it('rejects garbage and positions outside the story', () => {
    const doc = storyDoc(['x']);
    expect(() => parseAnchor('//8=')).toThrow(expect.objectContaining({ code: 'invalid_payload' }));
    expect(() => resolveAnchor(doc, parseAnchor('AAAA'))).toThrow(expect.objectContaining({ code: 'conflict' }));
    const other = encodeAnchor(Y.createRelativePositionFromTypeIndex(bibleOf(doc), 0));
    expect(() => resolveAnchor(doc, parseAnchor(other))).toThrow(expect.objectContaining({ code: 'invalid_payload' }));
    const unknown = new Y.Doc();
    const ghost = storyDoc(['elsewhere'], 999);
    expect(() => resolveAnchor(unknown, parseAnchor(anchorAt(ghost, 0, 2)))).toThrow(expect.objectContaining({ code: 'conflict' }));
  });
});

describe('AgentWriter', () => {
  it("every edit lands under the agent's one attributed client id, the second as much as the first", () => {
    const room = new Y.Doc();
    room.getText('t').insert(0, 'human ');
    const writer = new AgentWriter(room);
    writer.edit((doc) => doc.getText('t').insert(6, 'first '));
    writer.edit((doc) => doc.getText('t').insert(12, 'second '));
    expect(room.getText('t').toString()).toBe('human first second ');
    expect([...room.store.clients.keys()].filter((c) => c !== room.clientID)).toEqual([writer.clientID]);
    expect(authorsOf(room).get(String(writer.clientID))?.kind).toBe('agent');
  });

  it('inserts accepted text as its own client with the AI mark, recorded in authors', () => {
    const room = storyDoc(['She opened the door']);
    const anchor = parseAnchor(anchorAt(room, 0, 19));
    const writer = new AgentWriter(room);
    const updates: unknown[] = [];
    room.on('update', (_u: Uint8Array, origin: unknown) => updates.push(origin));
    const inserted = writer.edit((doc) =>
      insertAiText(resolveAnchor(doc, anchor), 'and stepped out.', { proposalId: 'p1', model: 'm', acceptedBy: 'alice' }, 'continue'),
    );
    expect(inserted).toBe(' and stepped out.');
    expect(updates).toHaveLength(1);
    expect(storyText(room)).toBe('She opened the door and stepped out.');
    const delta = textOf(room, 0).toDelta() as Array<{ insert: string; attributes?: Record<string, unknown> }>;
    expect(delta[1]).toEqual({ insert: ' and stepped out.', attributes: { [AI_MARK]: { proposalId: 'p1', model: 'm', acceptedBy: 'alice' } } });
    expect(room.store.clients.has(writer.clientID)).toBe(true);
    expect(authorsOf(room).get(String(writer.clientID))).toMatchObject({ kind: 'agent' });
    // A remote replica converges.
    const replica = new Y.Doc();
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(room));
    expect(storyText(replica)).toBe(storyText(room));
  });

  it('leaves the room untouched when the anchor was deleted', () => {
    const room = storyDoc(['abc def']);
    const anchor = parseAnchor(anchorAt(room, 0, 4));
    textOf(room, 0).delete(3, 4);
    const before = Y.encodeStateVector(room);
    const writer = new AgentWriter(room);
    expect(() => writer.edit((doc) => insertAiText(resolveAnchor(doc, anchor), 'x', { proposalId: 'p', model: 'm', acceptedBy: 'a' }, 'continue'))).toThrow(
      expect.objectContaining({ code: 'anchor_deleted' }),
    );
    expect(Y.encodeStateVector(room)).toEqual(before);
  });

  it('brainstorm inserts paragraphs after the block; rewrite replaces the selection', () => {
    const room = storyDoc(['First.', 'Last.']);
    const w = new AgentWriter(room);
    const a = parseAnchor(anchorAt(room, 0, 3));
    w.edit((doc) => insertAiText(resolveAnchor(doc, a), 'idea one\nidea two', { proposalId: 'p', model: 'm', acceptedBy: 'a' }, 'brainstorm'));
    expect(storyText(room)).toBe('First.\nidea one\nidea two\nLast.');
    const s = parseAnchor(anchorAt(room, 3, 0));
    const e = parseAnchor(anchorAt(room, 3, 4));
    w.edit((doc) => insertAiText(resolveAnchor(doc, s), 'Final', { proposalId: 'q', model: 'm', acceptedBy: 'a' }, 'rewrite', resolveAnchor(doc, e)));
    expect(storyText(room)).toBe('First.\nidea one\nidea two\nFinal.');
  });

  it('writes into an empty paragraph', () => {
    const room = new Y.Doc();
    const p = new Y.XmlElement('paragraph');
    storyOf(room).insert(0, [p]);
    const anchor = Y.createRelativePositionFromTypeIndex(p, 0);
    new AgentWriter(room).edit((doc) => insertAiText(resolveAnchor(doc, anchor), 'Once upon a time', { proposalId: 'p', model: 'm', acceptedBy: 'a' }, 'continue'));
    expect(storyText(room)).toBe('Once upon a time');
  });
});

describe('AgentPresence', () => {
  it('appears in the room awareness under its own client id and leaves on dispose', () => {
    const room = new Y.Doc();
    const awareness = new Awareness(room);
    awareness.setLocalState(null);
    const seen: number[][] = [];
    awareness.on('update', ({ added, updated }: { added: number[]; updated: number[] }) => seen.push([...added, ...updated]));
    const presence = new AgentPresence(awareness, 4242, 'story-lm');
    expect(awareness.getStates().get(4242)).toMatchObject({ user: { name: 'Ensemble AI', agent: { state: 'idle', model: 'story-lm' } } });
    presence.set('writing');
    expect(awareness.getStates().get(4242)).toMatchObject({ user: { agent: { state: 'writing' } } });
    expect(seen.flat()).toContain(4242);
    presence.dispose();
    expect(awareness.getStates().has(4242)).toBe(false);
    awareness.destroy();
  });
});

describe('Moderation', () => {
  it('matches whole words case-insensitively, with substitutions, plus configured words', () => {
    const m = Moderation.fromConfig('dragonfruit, bad phrase');
    expect(m.check('A quiet morning.').ok).toBe(true);
    expect(m.check('What the SHIT is this').ok).toBe(false);
    expect(m.check('sh1t').ok).toBe(false);
    expect(m.check('Shitake mushrooms').ok).toBe(true);
    expect(m.check('she ate a Dragonfruit').ok).toBe(false);
    expect(m.check('a bad   phrase here').ok).toBe(false);
  });

  it('never releases a blocked word while streaming', () => {
    const stream = new ModeratedStream(Moderation.fromConfig('forbidden'));
    const released: string[] = [];
    for (const d of ['The ', 'for', 'bid', 'den door']) {
      const r = stream.push(d);
      if ('blocked' in r) {
        released.push('<blocked>');
        break;
      }
      released.push(r.release);
    }
    expect(released.join('')).toBe('The <blocked>');
    const clean = new ModeratedStream(Moderation.fromConfig('forbidden'));
    let out = '';
    for (const d of ['The ', 'for', 'est.']) {
      const r = clean.push(d);
      if ('release' in r) out += r.release;
    }
    const fin = clean.finish();
    if ('release' in fin) out += fin.release;
    expect(out).toBe('The forest.');
  });
});

describe('PromptBuilder', () => {
  it('puts the bible, mode and instruction first and ends with the text before the anchor', () => {
    const doc = storyDoc(['Long ago there was a lighthouse.', 'Mara climbed the stairs and']);
    bibleOf(doc).set('characters', 'Mara, the keeper');
    bibleOf(doc).set('tone', 'quiet, eerie');
    const at = resolveAnchor(doc, parseAnchor(anchorAt(doc, 1, 16)));
    const parts = new PromptBuilder({ maxChars: 300, afterChars: 50 }).build(doc, at, 'continue', 'make it scary');
    expect(parts.prompt).toContain('Characters: Mara, the keeper');
    expect(parts.prompt).toContain('Tone: quiet, eerie');
    expect(parts.prompt).toContain('Instruction: make it scary');
    expect(parts.prompt.endsWith('Long ago there was a lighthouse.\nMara climbed the')).toBe(true);
    expect(parts.after).toBe(' stairs and');
  });

  it('cuts long stories from the left to fit', () => {
    const doc = storyDoc(['word '.repeat(500) + 'END']);
    const at = resolveAnchor(doc, parseAnchor(anchorAt(doc, 0, 2503)));
    const { prompt } = new PromptBuilder({ maxChars: 200, afterChars: 0 }).build(doc, at, 'continue');
    expect(prompt.length).toBeLessThanOrEqual(200);
    expect(prompt.endsWith('END')).toBe(true);
  });
});

describe('RateLimiter', () => {
  it('allows a burst then refills over time', () => {
    let now = 0;
    const rl = new RateLimiter(3, 6, () => now);
    expect([rl.take('a'), rl.take('a'), rl.take('a'), rl.take('a')]).toEqual([true, true, true, false]);
    expect(rl.take('b')).toBe(true);
    expect(rl.retryAfterSec('a')).toBeGreaterThan(0);
    now += 10_000;
    expect(rl.take('a')).toBe(true);
  });
});

describe('provenance walk', () => {
  it('counts characters per author, AI text by accepter, and human edits inside AI text', () => {
    const alice = storyDoc(['Hello world.'], 11);
    const authors = authorsOf(alice);
    authors.set('11', { memberId: 'alice', displayName: 'Alice', kind: 'human' } satisfies AuthorEntry);
    const writer = new AgentWriter(alice, 'Ensemble AI');
    const anchor = parseAnchor(anchorAt(alice, 0, 12));
    const inserted = writer.edit((doc) =>
      insertAiText(resolveAnchor(doc, anchor), 'The sky was grey.', { proposalId: 'p1', model: 'lm', acceptedBy: 'bob' }, 'continue'),
    );
    // Bob (another client) types inside the AI text, keeping the mark (ProseMirror extends marks).
    const bob = new Y.Doc();
    bob.clientID = 22;
    Y.applyUpdate(bob, Y.encodeStateAsUpdate(alice));
    authorsOf(bob).set('22', { memberId: 'bob', displayName: 'Bob', kind: 'human' });
    const mark = { [AI_MARK]: { proposalId: 'p1', model: 'lm', acceptedBy: 'bob' } };
    textOf(bob, 0).insert(25, 'very ', mark);
    // Alice deletes "grey" (4 agent characters).
    Y.applyUpdate(alice, Y.encodeStateAsUpdate(bob));
    const t = textOf(alice, 0);
    expect(storyText(alice)).toBe('Hello world. The sky was very grey.');
    t.delete(storyText(alice).indexOf('grey'), 4);
    const report = computeProvenance('r1', alice, [
      { roomId: 'r1', id: 'p1', kind: 'text', requestedBy: 'alice', mode: 'continue', model: 'lm', createdAt: '', status: 'accepted', alternatives: [inserted], acceptedAlternative: 0, acceptedBy: 'bob' },
      { roomId: 'r1', id: 'p2', kind: 'image', requestedBy: 'carol', mode: 'image', model: 'img', createdAt: '', status: 'ready', alternatives: ['i1'] },
    ], new Map([['bob', 'Bob'], ['alice', 'Alice'], ['carol', 'Carol']]));
    const byId = new Map(report.authors.map((a) => [a.memberId, a]));
    expect(byId.get('alice')!.chars).toBe('Hello world.'.length);
    expect(byId.get('bob')!.chars).toBe('very '.length);
    expect(byId.get('ensemble-agent')!.chars).toBe(' The sky was grey.'.length - 4);
    expect(byId.get('ensemble-agent')!.kind).toBe('agent');
    expect(report.totalChars).toBe(storyText(alice).length);
    expect(report.ai.markedChars).toBe(' The sky was .'.length + 'very '.length);
    expect(report.ai.acceptedBy).toEqual([{ memberId: 'bob', displayName: 'Bob', chars: report.ai.markedChars, proposals: 1 }]);
    expect(report.ai.edited).toMatchObject({ humanCharsInside: 5, agentCharsDeleted: 4, agentCharsUnmarked: 0 });
    expect(report.ai.edited.byMember).toEqual([{ memberId: 'bob', displayName: 'Bob', charsInside: 5 }]);
    expect(report.requests).toEqual(
      expect.arrayContaining([
        { memberId: 'alice', displayName: 'Alice', text: 1, image: 0, accepted: 1 },
        { memberId: 'carol', displayName: 'Carol', text: 0, image: 1, accepted: 0 },
      ]),
    );
    // Survives a reload: recompute from the encoded state.
    const reloaded = new Y.Doc();
    Y.applyUpdate(reloaded, Y.encodeStateAsUpdate(alice));
    const again = computeProvenance('r1', reloaded, [
      { roomId: 'r1', id: 'p1', kind: 'text', requestedBy: 'alice', mode: 'continue', model: 'lm', createdAt: '', status: 'accepted', alternatives: [inserted], acceptedAlternative: 0, acceptedBy: 'bob' },
    ]);
    expect(again.authors).toEqual(report.authors);
    expect(again.ai.markedChars).toBe(report.ai.markedChars);
  });

  it('forged AI marks credit nobody: only proposals the server recorded as accepted count, with their recorded acceptor', () => {
    const doc = storyDoc(['Carol wrote this. Dan wrote that.']);
    authorsOf(doc).set(String(doc.clientID), { memberId: 'carol', displayName: 'Carol', kind: 'human' });
    const t = textOf(doc, 0);
    t.format(0, 17, { [AI_MARK]: { proposalId: 'never-proposed', model: 'lm', acceptedBy: 'carol' } });
    t.format(18, 15, { [AI_MARK]: { proposalId: 'p1', model: 'forged', acceptedBy: 'mallory' } });
    const report = computeProvenance('r1', doc, [
      { roomId: 'r1', id: 'p1', kind: 'text', requestedBy: 'bob', mode: 'continue', model: 'lm', createdAt: '', status: 'accepted', alternatives: ['x'], acceptedAlternative: 0, acceptedBy: 'bob' },
    ]);
    expect(report.ai.markedChars).toBe(15);
    expect(report.ai.proposals).toEqual([{ proposalId: 'p1', model: 'lm', acceptedBy: 'bob', agentChars: 0, humanCharsInside: 15 }]);
    expect(report.ai.acceptedBy.map((a) => a.memberId)).toEqual(['bob']);
  });
});
