import { dot } from './embedder';

/**
 * Maximal marginal relevance: greedily picks `k` items maximising
 * λ·relevance − (1−λ)·max similarity to the items already picked.
 */
export function mmr(relevance: number[], vectors: ArrayLike<number>[], k: number, lambda = 0.7): number[] {
  const picked: number[] = [];
  const left = new Set(relevance.map((_, i) => i));
  while (picked.length < k && left.size > 0) {
    let best = -1;
    let bestScore = -Infinity;
    for (const i of left) {
      const redundancy = picked.length ? Math.max(...picked.map((j) => dot(vectors[i]!, vectors[j]!))) : 0;
      const s = lambda * relevance[i]! - (1 - lambda) * redundancy;
      if (s > bestScore) {
        bestScore = s;
        best = i;
      }
    }
    picked.push(best);
    left.delete(best);
  }
  return picked;
}
