/**
 * Token sampling: repetition penalty, temperature, top-k, top-p, with a seeded PRNG per request
 * (same seed and same logits → same token). Temperature 0 is greedy (argmax, ties → lowest id).
 */

export interface SamplingParams {
  /** 0 = greedy. Default 0.8. */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  /** 1 = off; >1 discourages tokens already in the prompt or the output (CTRL / HF style). */
  repetitionPenalty: number;
}

export const DEFAULT_SAMPLING: SamplingParams = { temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1 };

/** splitmix32-seeded xoshiro128** — small, fast, and identical in every JS engine. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    return result;
  }

  /** Uniform in [0, 1) with 53 bits. */
  next(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A random 32-bit seed for requests that did not give one. */
export function randomSeed(): number {
  return (Math.random() * 0x100000000) >>> 0;
}

export function argmax(logits: Float32Array): number {
  let best = 0;
  let bestVal = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > bestVal) {
      bestVal = v;
      best = i;
    }
  }
  return best;
}

/** Applies the repetition penalty in place to every distinct token in `history`. */
export function applyRepetitionPenalty(logits: Float32Array, history: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  const seen = new Set<number>();
  for (const t of history) {
    if (seen.has(t) || t < 0 || t >= logits.length) continue;
    seen.add(t);
    const v = logits[t]!;
    logits[t] = v > 0 ? v / penalty : v * penalty;
  }
}

/**
 * Picks the next token from one row of logits. `logits` may be modified in place (penalty).
 * `banned` tokens (e.g. padding) are never sampled.
 */
export function sampleToken(
  logits: Float32Array,
  params: SamplingParams,
  rng: Rng,
  history: Iterable<number>,
  banned: readonly number[] = [],
): number {
  applyRepetitionPenalty(logits, history, params.repetitionPenalty);
  for (const b of banned) if (b >= 0 && b < logits.length) logits[b] = -Infinity;
  if (!(params.temperature > 0)) return argmax(logits);

  const invT = 1 / params.temperature;
  const V = logits.length;
  const k = params.topK > 0 ? Math.min(params.topK, V) : V;
  const topP = params.topP > 0 && params.topP < 1 ? params.topP : 1;

  if (k === V && topP === 1) {
    // Plain temperature sampling over the whole vocabulary, in id order (no sort needed).
    const maxLogit = logits[argmax(logits)]!;
    let z = 0;
    for (let i = 0; i < V; i++) z += Math.exp((logits[i]! - maxLogit) * invT);
    let r = rng.next() * z;
    let last = 0;
    for (let i = 0; i < V; i++) {
      const p = Math.exp((logits[i]! - maxLogit) * invT);
      if (p > 0) last = i;
      r -= p;
      if (r < 0) return i;
    }
    return last;
  }

  // Candidates sorted by logit (desc, ties by lower id). With top-k: the k best. With top-p only:
  // the smallest prefix reaching topP, found by widening a partial selection (64, 256, ...)
  // instead of sorting the whole vocabulary.
  let ids: number[];
  let probs: Float64Array;
  let n: number;
  let sum: number;
  if (k < V) {
    ids = topKIndices(logits, k);
    const maxLogit = logits[ids[0]!]!;
    probs = new Float64Array(ids.length);
    sum = 0;
    for (let i = 0; i < ids.length; i++) sum += probs[i] = Math.exp((logits[ids[i]!]! - maxLogit) * invT);
    n = ids.length;
    if (topP < 1) {
      let cum = 0;
      for (let i = 0; i < ids.length; i++) {
        cum += probs[i]! / sum;
        if (cum >= topP) {
          n = i + 1;
          break;
        }
      }
    }
  } else {
    const maxLogit = logits[argmax(logits)]!;
    let z = 0;
    for (let i = 0; i < V; i++) z += Math.exp((logits[i]! - maxLogit) * invT);
    for (let width = 64; ; width *= 4) {
      if (width >= V) {
        ids = Array.from({ length: V }, (_, i) => i);
        ids.sort((x, y) => logits[y]! - logits[x]! || x - y);
      } else {
        ids = topKIndices(logits, width);
      }
      probs = new Float64Array(ids.length);
      let cum = 0;
      n = -1;
      for (let i = 0; i < ids.length; i++) {
        probs[i] = Math.exp((logits[ids[i]!]! - maxLogit) * invT);
        cum += probs[i]! / z;
        if (cum >= topP) {
          n = i + 1;
          break;
        }
      }
      if (n > 0 || width >= V) break;
    }
    if (n < 0) n = ids.length;
  }
  sum = 0;
  for (let i = 0; i < n; i++) sum += probs[i]!;
  let r = rng.next() * sum;
  for (let i = 0; i < n; i++) {
    r -= probs[i]!;
    if (r < 0) return ids[i]!;
  }
  return ids[n - 1]!;
}

function topKIndices(logits: Float32Array, k: number): number[] {
  // Sorted insertion into fixed buffers (desc by value, ties keep the lower id first).
  const ids = new Int32Array(k);
  const vals = new Float32Array(k);
  let size = 0;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (size === k && v <= vals[k - 1]!) continue;
    let j = size < k ? size++ : k - 1;
    while (j > 0 && vals[j - 1]! < v) {
      vals[j] = vals[j - 1]!;
      ids[j] = ids[j - 1]!;
      j--;
    }
    vals[j] = v;
    ids[j] = i;
  }
  return Array.from(ids.subarray(0, size));
}
