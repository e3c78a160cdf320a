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
      const author = authorOf(item.id.client);
      const attributes = Object.fromEntries(attrs);
      const last = runs[runs.length - 1];
      // One insert per stretch of one author's text with one formatting: fewer position lookups.
      if (last && typeof last.insert === 'string' && typeof insert === 'string' && last.author === author && JSON.stringify(last.attributes) === JSON.stringify(attributes)) last.insert += insert;
      else runs.push({ author, insert, attributes });
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

function textsIn(node: Y.XmlFragment | Y.XmlElement, out: Y.XmlText[] = []): Y.XmlText[] {
  for (const child of node.toArray()) {
    if (child instanceof Y.XmlText) out.push(child);
    else if (child instanceof Y.XmlElement) textsIn(child, out);
  }
  return out;
}

/** The version's story text, per Y.XmlText of the restored story in document order, with the client to write each run as. */
export interface PreparedStory {
  texts: Array<Array<Run & { client: number }>>;
}

/**
 * Step 1 of restoring the story, inside a local transaction on `target`: replaces the story with
 * the version's element tree whose texts are still empty, and records a fresh client id for each
 * author of the version's text (from the version's `authors` map, else the room's) with that
 * author's entry. Yjs attributes text to the client id that inserted it, and text copied by the
 * server would count as nobody's ("unknown"). Original ids are never reused: their owners may
 * still be writing with them.
 */
export function prepareStory(target: Y.Doc, source: Y.Doc): PreparedStory {
  const sourceAuthors = authorsOf(source);
  const targetAuthors = authorsOf(target);
  const authorOf = (client: number): AuthorEntry | undefined => sourceAuthors.get(String(client)) ?? targetAuthors.get(String(client));
  const idOf = new Map<string, number>();
  const clientFor = (entry: AuthorEntry | undefined): number => {
    if (!entry) return target.clientID;
    const key = `${entry.kind}:${entry.memberId}`;
    let id = idOf.get(key);
    if (id === undefined) {
      const used = new Set(idOf.values());
      id = freshClientId((c) => c === target.clientID || used.has(c) || target.store.clients.has(c) || source.store.clients.has(c));
      idOf.set(key, id);
      targetAuthors.set(String(id), { memberId: entry.memberId, displayName: entry.displayName, kind: entry.kind });
    }
    return id;
  };
  const pairs: Array<[Y.XmlText, Y.XmlText]> = [];
  const nodes = storyOf(source).toArray().filter((c): c is Y.XmlElement | Y.XmlText => c instanceof Y.XmlElement || c instanceof Y.XmlText);
  const story = storyOf(target);
  story.delete(0, story.length);
  story.insert(0, nodes.map((n) => skeleton(n, pairs)));
  return { texts: pairs.map(([src]) => runsOf(src, authorOf).map((run) => ({ ...run, client: clientFor(run.author) }))) };
}

/**
 * Step 2, after step 1's transaction: inserts each run as its author's client. Yjs fixes the
 * client id per Y.Doc, so the text is written on a scratch copy whose clientID is switched between
 * transactions, and the result is applied to `target` as one update. It must not share a
 * transaction with the server's own edits: applying an update marks the transaction remote, and
 * Yjs would then take the server's own new structs for another client's and change its id.
 */
export function writeStoryText(target: Y.Doc, prepared: PreparedStory, origin: unknown): void {
  if (prepared.texts.every((runs) => runs.length === 0)) return;
  const scratch = new Y.Doc({ gc: false });
  try {
    Y.applyUpdate(scratch, Y.encodeStateAsUpdate(target));
    const before = Y.encodeStateVector(target);
    const copies = textsIn(storyOf(scratch));
    prepared.texts.forEach((list, k) => {
      const copy = copies[k]!;
      let offset = 0;
      for (let i = 0; i < list.length; ) {
        const client = list[i]!.client;
        scratch.clientID = client;
        scratch.transact(() => {
          // Consecutive runs of one author go in one transaction.
          for (; i < list.length && list[i]!.client === client; i++) {
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
    });
    Y.applyUpdate(target, Y.encodeStateAsUpdate(scratch, before), origin);
  } finally {
    scratch.destroy();
  }
}
