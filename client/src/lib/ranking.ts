/**
 * Orders items by a member's ranking (`proposal:ranking` gives alternative indexes, best first).
 * Items the ranking does not mention keep their own order after the ranked ones; unknown or
 * repeated indexes in the ranking are ignored.
 */
export function applyRanking<T extends { index: number }>(items: readonly T[], order: readonly number[] | undefined): T[] {
  const byIndex = new Map(items.map((item) => [item.index, item] as const));
  if (!order || order.length === 0) return [...items].sort((a, b) => a.index - b.index);
  const seen = new Set<number>();
  const ranked: T[] = [];
  for (const index of order) {
    const item = byIndex.get(index);
    if (item && !seen.has(index)) {
      ranked.push(item);
      seen.add(index);
    }
  }
  const rest = items.filter((item) => !seen.has(item.index)).sort((a, b) => a.index - b.index);
  return [...ranked, ...rest];
}

/** 1-based rank label of an alternative in a ranking ("#1"), or '' when unranked. */
export function rankLabel(index: number, order: readonly number[] | undefined): string {
  const at = order ? order.indexOf(index) : -1;
  return at >= 0 ? `#${at + 1}` : '';
}

/** Moves an item in a list from one index to another (for drag/buttons on storyboard panels). */
export function moveIndex(length: number, from: number, to: number): number | null {
  if (from < 0 || from >= length) return null;
  const target = Math.max(0, Math.min(length - 1, to));
  return target === from ? null : target;
}

/**
 * The order "for you": the member's own vote first (their up-votes above, down-votes below), then
 * the room's net votes, then the server's ranking for this member, then the alternative's number.
 * The server's ranking alone ignored votes, so "#1 for you" stayed on an alternative everyone
 * had voted down.
 */
export function rankForYou(alts: ReadonlyArray<{ index: number; up: number; down: number; myVote: -1 | 0 | 1 }>, order: readonly number[] | undefined): number[] {
  const serverAt = (i: number) => {
    const at = order ? order.indexOf(i) : -1;
    return at >= 0 ? at : Number.MAX_SAFE_INTEGER;
  };
  return [...alts]
    .sort((a, b) => b.myVote - a.myVote || b.up - b.down - (a.up - a.down) || serverAt(a.index) - serverAt(b.index) || a.index - b.index)
    .map((a) => a.index);
}
