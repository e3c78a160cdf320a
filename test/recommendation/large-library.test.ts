import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { storyOf, type Suggestion } from '../../shared/src/index';
import { createAgentExtension } from '../../server/src/agent/index';
import { CachedEmbedder, HashingEmbedder, RecommendationService, type Embedder } from '../../server/src/recommendation/index';
import { ack, connectClient, createRoom, openCollab, startServer, waitFor, type TestServer } from '../helpers/index';
import { feedbackStore } from './fakes';

/** The recommender's vector cache holds 5,000 texts; these libraries are bigger. */
const CACHE_SIZE = 5000;
const LIBRARY_SIZE = 6200;

const passage = (i: number) => `Passage number ${i} tells of harbour ${i % 97}, of a ship called ${i} and the weather on day ${i}.`;

/** Counts what reaches the inner embedder. */
function counting(inner: Embedder): Embedder & { texts: number } {
  const e = {
    texts: 0,
    async embed(texts: string[]) {
      e.texts += texts.length;
      return inner.embed(texts);
    },
  };
  return e;
}

describe('recommendations with a library larger than the embedding cache', () => {
  it('CachedEmbedder returns a vector for every text of a call bigger than the cache, each the inner embedder’s', async () => {
    const hashing = new HashingEmbedder();
    const inner = counting(hashing);
    const cached = new CachedEmbedder(inner, CACHE_SIZE);
    const texts = Array.from({ length: LIBRARY_SIZE }, (_, i) => passage(i));
    const vecs = await cached.embed(texts);
    expect(vecs).toHaveLength(LIBRARY_SIZE);
    for (const i of [0, 1, 1199, 1200, 5000, LIBRARY_SIZE - 1]) expect(Array.from(vecs[i]!)).toEqual(Array.from(hashing.embedOne(texts[i]!)));
    expect(cached.size).toBe(CACHE_SIZE);
    expect(inner.texts).toBe(LIBRARY_SIZE);
    // Duplicates in one call and cache hits mixed with misses still line up.
    const mixed = [texts[LIBRARY_SIZE - 1]!, 'brand new text', texts[0]!, 'brand new text'];
    const again = await cached.embed(mixed);
    mixed.forEach((t, i) => expect(Array.from(again[i]!)).toEqual(Array.from(hashing.embedOne(t))));
    expect(inner.texts).toBe(LIBRARY_SIZE + 2); // texts[0] was evicted, the last one was not
  });

  it('RecommendationService.next ranks a 6,200-passage library', async () => {
    const svc = new RecommendationService(feedbackStore(), new HashingEmbedder());
    const library = Array.from({ length: LIBRARY_SIZE }, (_, i) => ({ roomId: 'lib', roomName: 'Library', text: passage(i) }));
    library.push({ roomId: 'lib', roomName: 'Library', text: 'The lighthouse keeper counted the gulls that circled the lantern every night.' });
    const suggestions = await svc.next('r', 'm', 'At night the lighthouse keeper counted the gulls around the lantern.', library);
    const passages = suggestions.filter((s) => s.kind === 'related-passage');
    expect(passages.length).toBeGreaterThan(0);
    expect(passages[0]!.excerpt).toMatch(/lighthouse keeper counted the gulls/);
  });
});

describe('recommend:next over /collab with a large library room', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ extensions: [createAgentExtension({ engine: null })] });
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Writes `texts` as story paragraphs through a stock sync client; resolves when the server has them all. */
  async function writeStory(roomId: string, token: string, texts: string[]): Promise<void> {
    const client = connectClient(server.syncUrl, roomId, token);
    await client.synced;
    client.doc.transact(() => {
      storyOf(client.doc).insert(
        0,
        texts.map((text) => {
          const p = new Y.XmlElement('paragraph');
          p.insert(0, [new Y.XmlText(text)]);
          return p;
        }),
      );
    });
    await waitFor(() => storyOf(server.server.registry.peek(roomId)!.doc).length === texts.length, { timeoutMs: 30_000, message: 'story reached the server' });
    client.destroy();
  }

  it('answers with related passages instead of internal', async () => {
    const mine = await createRoom(server.url);
    const library = await createRoom(server.url, { name: 'Big library' });
    const texts = Array.from({ length: LIBRARY_SIZE }, (_, i) => passage(i));
    texts.push('The lighthouse keeper counted the gulls that circled the lantern every night.');
    await writeStory(library.room.id, library.token, texts);
    await writeStory(mine.room.id, mine.token, ['At night the lighthouse keeper counted the gulls around the lantern.']);

    const collab = await openCollab(server.url, mine.token);
    if (collab.kind !== 'open') throw new Error(`refused: ${collab.message}`);
    const res = await ack<{ ok: boolean; error?: { code: string }; suggestions: Suggestion[] }>(collab.socket, 'recommend:next', { libraryTokens: [library.token] }, 60_000);
    expect(res.error).toBeUndefined();
    expect(res.ok).toBe(true);
    const related = res.suggestions.filter((s) => s.kind === 'related-passage');
    expect(related[0]?.source?.roomId).toBe(library.room.id);
    expect(related[0]?.excerpt).toMatch(/lighthouse keeper counted the gulls/);
    collab.socket.close();
  });
});
