import { createRequire } from 'node:module';
import path from 'node:path';
import type { EngineLike, GenerateRequest, GenerationChunk, GenerationResult, GenerationStreamLike } from '../../server/src/agent/engine';
import { HashingEmbedder } from '../../server/src/recommendation/embedder';

/**
 * A deterministic stand-in for the inference engine, used only when server/src/inference is not
 * available: streams words at `msPerToken` with the request's seed, honours abort and maxTokens,
 * shares `slots` concurrent generations (a minimal scheduler), draws a tiny PNG per seed.
 */
export class StubEngine implements EngineLike {
  active = 0;
  readonly words = ['the', 'rain', 'fell', 'softly', 'on', 'old', 'roofs', 'and', 'she', 'smiled', 'at', 'sea', 'light', 'door'];

  constructor(
    private readonly msPerToken = 15,
    private readonly slots = 64,
  ) {}

  models() {
    return [
      { id: 'stub-lm', task: 'text-generation' },
      { id: 'stub-embed', task: 'embedding' },
      { id: 'stub-image', task: 'image-generation' },
    ];
  }

  generate(req: GenerateRequest): GenerationStreamLike {
    if (this.active >= this.slots) {
      const err = Object.assign(new Error('busy'), { code: 'busy' });
      const result = Promise.reject(err);
      result.catch(() => undefined);
      return { result, abort() {}, async *[Symbol.asyncIterator]() { throw err; } };
    }
    this.active++;
    let aborted = false;
    let release = (): void => {
      this.active--;
      release = () => undefined;
    };
    let resolveResult!: (r: GenerationResult) => void;
    const result = new Promise<GenerationResult>((r) => (resolveResult = r));
    const onAbort = (): void => {
      aborted = true;
    };
    req.signal?.addEventListener('abort', onAbort);
    let s = (req.seed ?? 1) >>> 0;
    const next = (): number => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s;
    };
    const words = this.words;
    const ms = this.msPerToken;
    const max = req.maxTokens ?? 20;
    const engine = this;
    async function* iterate(): AsyncGenerator<GenerationChunk> {
      let text = '';
      let n = 0;
      try {
        while (n < max) {
          await new Promise((r) => setTimeout(r, ms));
          if (aborted) break;
          const w = words[next() % words.length]!;
          const delta = (n === 0 ? '' : ' ') + w;
          text += delta;
          n++;
          yield { text: delta, tokenId: n };
        }
      } finally {
        release();
        req.signal?.removeEventListener('abort', onAbort);
        resolveResult({ text, finishReason: aborted ? 'aborted' : 'length', tokens: n });
      }
    }
    const it = iterate();
    void engine;
    return {
      result,
      abort: () => {
        aborted = true;
      },
      [Symbol.asyncIterator]: () => it,
    };
  }

  private readonly hashing = new HashingEmbedder(128);
  async embed(texts: string[]): Promise<Float32Array[]> {
    return this.hashing.embed(texts);
  }

  async generateImage(req: { prompt: string; seed: number }): Promise<Uint8Array> {
    const require = createRequire(path.resolve(import.meta.dirname, '../../server/package.json'));
    const { PNG } = require('pngjs') as typeof import('pngjs');
    const png = new PNG({ width: 8, height: 8 });
    const seed = (req.seed ?? 1) + req.prompt.length;
    for (let i = 0; i < png.data.length; i += 4) {
      png.data[i] = (seed * 37 + i) % 256;
      png.data[i + 1] = (seed * 11) % 256;
      png.data[i + 2] = (i * 3) % 256;
      png.data[i + 3] = 255;
    }
    return new Uint8Array(PNG.sync.write(png));
  }
}
