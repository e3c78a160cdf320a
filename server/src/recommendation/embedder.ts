import { createHash } from 'node:crypto';
import { l2normalize } from '../inference/embedder';

export interface Embedder {
  /** L2-normalised vectors, one per text. */
  embed(texts: string[]): Promise<Float32Array[]>;
}

/**
 * Fallback embedder (no models loaded, unit tests): feature hashing of lower-cased word unigrams
 * and bigrams into `dims` buckets, L2-normalised. Deterministic; captures word overlap only.
 */
export class HashingEmbedder implements Embedder {
  constructor(private readonly dims = 256) {}

  async embed(texts: string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.embedOne(t));
  }

  embedOne(text: string): Float32Array {
    const v = new Float32Array(this.dims);
    const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
    const add = (tok: string, w: number): void => {
      const h = createHash('md5').update(tok).digest();
      const idx = h.readUInt32LE(0) % this.dims;
      v[idx]! += (h[4]! & 1 ? 1 : -1) * w;
    };
    words.forEach((w, i) => {
      add(w, 1);
      if (i > 0) add(`${words[i - 1]} ${w}`, 0.5);
    });
    return l2normalize(v);
  }
}


export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Memoises vectors by text (LRU, bounded), batching the misses into one call. A call may ask for
 * more texts than the cache holds (a large library): its answer is built from the vectors it
 * found or embedded itself, never re-read from the cache, so eviction cannot lose any of them.
 */
export class CachedEmbedder implements Embedder {
  private readonly cache = new Map<string, Float32Array>();

  constructor(
    private readonly inner: Embedder,
    private readonly max = 5000,
  ) {}

  async embed(texts: string[]): Promise<Float32Array[]> {
    const found = new Map<string, Float32Array>();
    for (const t of texts) {
      const v = this.cache.get(t);
      if (v) found.set(t, v);
    }
    const missing = [...new Set(texts.filter((t) => !found.has(t)))];
    if (missing.length) {
      const vecs = await this.inner.embed(missing.map((t) => (t.trim() ? t : '.')));
      if (vecs.length !== missing.length) throw new Error(`embedder returned ${vecs.length} vectors for ${missing.length} texts`);
      missing.forEach((t, i) => found.set(t, vecs[i]!));
    }
    // Refresh recency (this call's texts become the newest), then evict the oldest.
    for (const [t, v] of found) {
      this.cache.delete(t);
      this.cache.set(t, v);
    }
    while (this.cache.size > this.max) this.cache.delete(this.cache.keys().next().value as string);
    return texts.map((t) => found.get(t)!);
  }

  get size(): number {
    return this.cache.size;
  }
}

/** Uses `primary` (the engine's embedding model) and falls back to hashing when it fails. */
export class FallbackEmbedder implements Embedder {
  private readonly fallback = new HashingEmbedder();
  constructor(private readonly primary: Embedder | null) {}

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    if (this.primary) {
      try {
        return await this.primary.embed(texts);
      } catch {
        // fall through: recommendations must keep working when the embedding model is unavailable
      }
    }
    return this.fallback.embed(texts);
  }
}

export function textKey(text: string): string {
  return createHash('sha1').update(text).digest('hex').slice(0, 16);
}
