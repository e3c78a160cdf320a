/** Caret colours: distinct, readable on white, valid for CollaborationCaret (#rrggbb). */
export const PALETTE = ['#d9480f', '#1971c2', '#2b8a3e', '#ae3ec9', '#e67700', '#0c8599', '#c2255c', '#5f3dc4', '#364fc7', '#087f5b'] as const;

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

export function colorFor(id: string): string {
  return PALETTE[hash(id) % PALETTE.length]!;
}

export function isHexColor(value: unknown): value is string {
  return typeof value === 'string' && /^#[0-9a-fA-F]{6}$/.test(value);
}

function rgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Perceptual distance between two #rrggbb colours ("redmean" weighted RGB; 0 = same, ~765 max). */
export function colorDistance(a: string, b: string): number {
  const [r1, g1, b1] = rgb(a);
  const [r2, g2, b2] = rgb(b);
  const rm = (r1 + r2) / 2;
  const dr = r1 - r2;
  const dg = g1 - g2;
  const db = b1 - b2;
  return Math.sqrt((2 + rm / 256) * dr * dr + 4 * dg * dg + (2 + (255 - rm) / 256) * db * db);
}

/** Below this two carets read as "the same colour" (e.g. the palette's two blues). */
export const TOO_CLOSE = 150;

/**
 * The palette colour farthest from every colour already taken by present members (maximin);
 * `preferred` wins whenever it is not too close to any of them, so a member keeps their colour.
 */
export function pickColor(preferred: string, taken: readonly string[]): string {
  const others = taken.filter(isHexColor);
  const nearest = (c: string) => (others.length ? Math.min(...others.map((t) => colorDistance(c, t))) : Infinity);
  if (isHexColor(preferred) && nearest(preferred) >= TOO_CLOSE) return preferred;
  let best = preferred;
  let bestScore = isHexColor(preferred) ? nearest(preferred) : -1;
  for (const c of PALETTE) {
    const score = nearest(c);
    if (score > bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

/**
 * Whether I should change colour: someone present is too close to mine and, of the two of us, I
 * have the larger member id (a rule both sides agree on, so only one of them moves).
 */
export function shouldYieldColor(mine: { memberId: string; color: string }, others: ReadonlyArray<{ memberId: string; color: string }>): boolean {
  return others.some((o) => o.memberId !== mine.memberId && isHexColor(o.color) && colorDistance(o.color, mine.color) < TOO_CLOSE && mine.memberId > o.memberId);
}
