import * as Y from 'yjs';
import { DOC_FIELDS, authorsOf } from '@ensemble/shared';
import { prepareStory, writeStoryText, type PreparedStory } from './restore-story';

type RootKind = 'text' | 'xml' | 'map' | 'array';

const KNOWN_ROOTS: Record<string, RootKind> = {
  [DOC_FIELDS.story]: 'xml',
  [DOC_FIELDS.bible]: 'map',
  [DOC_FIELDS.panels]: 'array',
};

/** Kind of a root type, from its constructor or, for a root never accessed with a typed getter, its content. */
function kindOf(type: Y.AbstractType<any> | undefined): RootKind | null {
  if (!type) return null;
  if (type instanceof Y.XmlFragment) return 'xml';
  if (type instanceof Y.Text) return 'text';
  if (type instanceof Y.Map) return 'map';
  if (type instanceof Y.Array) return 'array';
  let item = type._start;
  while (item !== null) {
    if (!item.deleted) {
      const content = item.content;
      if (content instanceof Y.ContentString || content instanceof Y.ContentFormat || content instanceof Y.ContentEmbed) return 'text';
      if (content instanceof Y.ContentType) {
        const t = content.type;
        return t instanceof Y.XmlElement || t instanceof Y.XmlText || t instanceof Y.XmlHook ? 'xml' : 'array';
      }
      return 'array';
    }
    item = item.right;
  }
  if (type._map.size > 0) return 'map';
  return null;
}

function typed(doc: Y.Doc, name: string, kind: RootKind): Y.AbstractType<any> {
  switch (kind) {
    case 'text':
      return doc.getText(name);
    case 'xml':
      return doc.getXmlFragment(name);
    case 'map':
      return doc.getMap(name);
    case 'array':
      return doc.getArray(name);
  }
}

function cloneValue(value: unknown): unknown {
  return value instanceof Y.AbstractType ? (value as unknown as { clone(): unknown }).clone() : value;
}

/**
 * Make every root's content of `target` equal to `source`'s (a version), by deleting the current
 * content and inserting copies, as two updates with `origin` (not inside another transaction: see
 * `writeStoryText`). The story's text keeps its authors (see `prepareStory`); `authors` is merged,
 * never rolled back.
 */
export function replaceContent(target: Y.Doc, source: Y.Doc, origin: unknown = null): void {
  if (target._transaction !== null) throw new Error('replaceContent must not run inside a transaction');
  let story!: PreparedStory;
  target.transact(() => {
    story = prepareStory(target, source);
    const names = new Set<string>([...target.share.keys(), ...source.share.keys(), ...Object.keys(KNOWN_ROOTS)]);
    for (const name of names) {
      if (name === DOC_FIELDS.authors || name === DOC_FIELDS.story) continue;
      const kind = KNOWN_ROOTS[name] ?? kindOf(target.share.get(name)) ?? kindOf(source.share.get(name));
      if (!kind) continue;
      const to = typed(target, name, kind);
      const from = typed(source, name, kind);
      if (to instanceof Y.Text && from instanceof Y.Text) {
        to.delete(0, to.length);
        to.applyDelta(from.toDelta().map((op: { insert: unknown; attributes?: object }) => ({ ...op, insert: cloneValue(op.insert) })));
      } else if (to instanceof Y.XmlFragment && from instanceof Y.XmlFragment) {
        to.delete(0, to.length);
        to.insert(0, from.toArray().map((node) => node.clone() as Y.XmlElement | Y.XmlText));
      } else if (to instanceof Y.Map && from instanceof Y.Map) {
        for (const key of [...to.keys()]) if (!from.has(key)) to.delete(key);
        for (const [key, value] of from.entries()) to.set(key, cloneValue(value));
      } else if (to instanceof Y.Array && from instanceof Y.Array) {
        to.delete(0, to.length);
        to.insert(0, from.toArray().map(cloneValue));
      }
    }
    const authors = authorsOf(target);
    for (const [client, entry] of authorsOf(source).entries()) if (!authors.has(client)) authors.set(client, entry);
  }, origin);
  writeStoryText(target, story, origin);
}
