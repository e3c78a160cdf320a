import type { FeedbackAction } from '../storage/store';
import { dot } from './embedder';
import { styleFeatures } from './features';

/** Label and weight an action contributes to a member's preference model (null: ignored). */
export function labelOf(action: FeedbackAction): { y: 0 | 1; w: number } | null {
  switch (action) {
    case 'accept':
      return { y: 1, w: 2 };
    case 'vote-up':
      return { y: 1, w: 1 };
    case 'reject':
      return { y: 0, w: 1.5 };
    case 'vote-down':
      return { y: 0, w: 1 };
    case 'dismiss':
      return { y: 0, w: 0.5 };
    default:
      return null;
  }
}

export interface Example {
  x: Float32Array | number[];
  y: 0 | 1;
  w: number;
}

/** Embedding followed by the style features (weighted so that both halves matter). */
export function featureVector(embedding: Float32Array, text: string, styleWeight = 2): number[] {
  const out = Array.from(embedding);
  for (const f of styleFeatures(text)) out.push(f * styleWeight);
  return out;
}

/**
 * A member's personal score: L2-regularised logistic regression over [embedding, style features],
 * refitted from the member's whole history when it changes (histories are small: full-batch
 * gradient descent over them takes well under a millisecond per example). With one class only it
 * degrades gracefully into a centroid direction (towards accepted, away from rejected text).
 */
export class PreferenceModel {
  private w: number[] = [];
  private b = 0;
  readonly examples: number;

  constructor(examples: Example[], opts: { epochs?: number; lr?: number; l2?: number } = {}) {
    this.examples = examples.length;
    if (examples.length === 0) return;
    const dims = examples[0]!.x.length;
    const w = new Array<number>(dims).fill(0);
    let b = 0;
    const epochs = opts.epochs ?? 300;
    const lr = opts.lr ?? 0.5;
    const l2 = opts.l2 ?? 0.01;
    const totalW = examples.reduce((s, e) => s + e.w, 0);
    for (let epoch = 0; epoch < epochs; epoch++) {
      const g = new Array<number>(dims).fill(0);
      let gb = 0;
      for (const e of examples) {
        const p = 1 / (1 + Math.exp(-(dot(w, e.x) + b)));
        const err = (p - e.y) * e.w;
        for (let i = 0; i < dims; i++) g[i]! += err * e.x[i]!;
        gb += err;
      }
      for (let i = 0; i < dims; i++) w[i]! -= lr * (g[i]! / totalW + l2 * w[i]!);
      b -= lr * (gb / totalW);
    }
    this.w = w;
    this.b = b;
  }

  get empty(): boolean {
    return this.examples === 0;
  }

  score(x: Float32Array | number[]): number {
    if (this.examples === 0) return 0;
    return dot(this.w, x) + this.b;
  }
}

/** Indices ordered by score, highest first; ties keep the original (unpersonalised) order. */
export function orderByScore(scores: number[]): number[] {
  return scores
    .map((s, i) => ({ s, i }))
    .sort((a, b) => (b.s - a.s) || (a.i - b.i))
    .map((e) => e.i);
}

/** NDCG@k of `order` (indices) against graded relevance `rel[index]`. */
export function ndcgAt(order: number[], rel: number[], k: number): number {
  const dcg = (idx: number[]): number => idx.slice(0, k).reduce((s, i, pos) => s + (2 ** (rel[i] ?? 0) - 1) / Math.log2(pos + 2), 0);
  const ideal = [...rel.keys()].sort((a, b) => (rel[b] ?? 0) - (rel[a] ?? 0));
  const idcg = dcg(ideal);
  return idcg > 0 ? dcg(order) / idcg : 1;
}
