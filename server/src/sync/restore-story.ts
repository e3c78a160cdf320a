import * as Y from 'yjs';
import { authorsOf, storyOf, type AuthorEntry } from '@ensemble/shared';

/** A visible piece of a version's story text: who wrote it, and its formatting (marks). */
interface Run {
  author: AuthorEntry | undefined;
  insert: string | object;
  attributes: Record<string, unknown>;
}

/** The visible runs of one Y.XmlText, in order, with the formatting in effect at each. */
function runsOf(text: Y.XmlText, authorOf: (client: number) => AuthorEntry | undefined): Run[] {
  const runs: Run[] = [];
  const attrs = new Map<string, unknown>();
  for (let item = text._start; item !== null; item = item.right) {
    const content = item.content;
    if (item.deleted) continue;
    if (content instanceof Y.ContentFormat) {
      if (content.value === null) attrs.delete(content.key);
      else attrs.set(content.key, content.value);
    } else if (content instanceof Y.ContentString || content instanceof Y.ContentEmbed) {
      const insert = content instanceof Y.ContentString ? content.str : (content.embed as object);
      runs.push({ author: authorOf(item.id.client), insert, attributes: Object.fromEntries(attrs) });
    }
  }
  return runs;
}

/** A copy of the element tree whose texts are empty; `texts` pairs each copy with its source. */
function skeleton(node: Y.XmlElement | Y.XmlText, texts: Array<[Y.XmlText, Y.XmlText]>): Y.XmlElement | Y.XmlText {
  if (node instanceof Y.XmlText) {
    const copy = new Y.XmlText();
    texts.push([node, copy]);
    return copy;
  }
  const copy = new Y.XmlElement(node.nodeName);
  for (const [key, value] of Object.entries(node.getAttributes())) copy.setAttribute(key, value as string);
  copy.insert(0, node.toArray().filter((c): c is Y.XmlElement | Y.XmlText => c instanceof Y.XmlElement || c instanceof Y.XmlText).map((c) => skeleton(c, texts)));
  return copy;
}

function freshClientId(taken: (id: number) => boolean): number {
  let id: number;
  do id = 1 + Math.floor(Math.random() * 0x7ffffffe);
  while (taken(id));
  return id;
}

/**
 * Replaces `target`'s story with `source`'s, keeping who wrote what. Yjs attributes text to the
 * client id that inserted it, and a copy made by the server would count as nobody's ("unknown"),
 * so each author of the version's text (from the version's `authors` map, else the room's) gets a
 * fresh client id recorded with that author's entry, and their runs are inserted as that client.
 * Original ids are never reused: their owners may still be writing with them.
 *
 * Yjs fixes the client id per Y.Doc transaction, so the edit is made on a scratch copy whose
 * clientID is switched between transactions (structure as the server's own id), and the result is
 * applied to `target` as one update inside the caller's (local) transaction.
 */
export function restoreStory(target: Y.Doc, source: Y.Doc): void {
  const scratch = new Y.Doc({ gc: false });
  try {
    Y.applyUpdate(scratch, Y.encodeStateAsUpdate(target));
    const before = Y.encodeStateVector(target);
    const sourceAuthors = authorsOf(source);
    const targetAuthors = authorsOf(target);
    const authorOf = (client: number): AuthorEntry | undefined => sourceAuthors.get(String(client)) ?? targetAuthors.get(String(client));
    const idOf = new Map<string, { id: number; entry: AuthorEntry }>();
    const clientFor = (entry: AuthorEntry | undefined): number => {
      if (!entry) return target.clientID;
      const key = `${entry.kind}:${entry.memberId}`;
      let slot = idOf.get(key);
      if (!slot) {
        const used = new Set([...idOf.values()].map((s) => s.id));
        const id = freshClientId((c) => c === target.clientID || used.has(c) || target.store.clients.has(c) || source.store.clients.has(c));
        slot = { id, entry: { memberId: entry.memberId, displayName: entry.displayName, kind: entry.kind } };
        idOf.set(key, slot);
      }
      return slot.id;
    };

    const texts: Array<[Y.XmlText, Y.XmlText]> = [];
    const from = storyOf(source);
    const nodes = from.toArray().filter((c): c is Y.XmlElement | Y.XmlText => c instanceof Y.XmlElement || c instanceof Y.XmlText);
    const runs = new Map<Y.XmlText, Run[]>();
    scratch.clientID = target.clientID;
    scratch.transact(() => {
      const to = storyOf(scratch);
      to.delete(0, to.length);
      to.insert(0, nodes.map((n) => skeleton(n, texts)));
      for (const [src] of texts) {
        const list = runsOf(src, authorOf);
        runs.set(src, list);
        for (const run of list) clientFor(run.author);
      }
      const authors = authorsOf(scratch);
      for (const { id, entry } of idOf.values()) authors.set(String(id), entry);
    });
    for (const [src, copy] of texts) {
      let offset = 0;
      const list = runs.get(src)!;
      for (let i = 0; i < list.length; ) {
        const client = clientFor(list[i]!.author);
        scratch.clientID = client;
        scratch.transact(() => {
          // Consecutive runs of one author go in one transaction.
          for (; i < list.length && clientFor(list[i]!.author) === client; i++) {
            const run = list[i]!;
            if (typeof run.insert === 'string') {
              copy.insert(offset, run.insert, { ...run.attributes });
              offset += run.insert.length;
            } else {
              copy.insertEmbed(offset, run.insert, { ...run.attributes });
              offset += 1;
            }
          }
        });
      }
    }
    Y.applyUpdate(target, Y.encodeStateAsUpdate(scratch, before));
  } finally {
    scratch.destroy();
  }
}
