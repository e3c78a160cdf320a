/** How many settled (finished, accepted, rejected, failed) cards stay open below the live ones. */
export const SETTLED_SHOWN = 5;

/**
 * Splits the newest-first card list into what is shown and what is folded away: every card still
 * open for a decision plus the newest `keep` settled ones; older settled cards wait behind
 * "Show older", so the list no longer grows without bound.
 */
export function foldSettled<T>(views: readonly T[], isSettled: (v: T) => boolean, keep = SETTLED_SHOWN): { shown: T[]; folded: T[] } {
  const shown: T[] = [];
  const folded: T[] = [];
  let settled = 0;
  for (const v of views) {
    if (!isSettled(v)) shown.push(v);
    else if (settled++ < keep) shown.push(v);
    else folded.push(v);
  }
  return { shown, folded };
}
