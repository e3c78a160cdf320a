import { describe, expect, it } from 'vitest';
import type { AiAllowance } from '../../shared/src/index';
import { allowanceText, shortDuration } from '../../client/src/lib/allowance';

const full = { capacity: 6, remaining: 6, nextInMs: 0, fullInMs: 0, refillEveryMs: 3000 };
const at = (allowance: AiAllowance, receivedAt = 1000) => ({ allowance, receivedAt });

describe('allowanceText: what a student reads about their AI requests', () => {
  it('full rate, no quota: the count alone', () => {
    expect(allowanceText(at({ enabled: true, quota: null, rate: full, left: 6 }), 1000)).toEqual({ left: '6 AI requests left', resets: null });
  });

  it('rate refilling: the count and the time until full, counting down from when it arrived', () => {
    const rate = { ...full, remaining: 1, nextInMs: 2000, fullInMs: 14_500 };
    const a = at({ enabled: true, quota: null, rate, left: 1 });
    expect(allowanceText(a, 1000)).toEqual({ left: '1 AI request left', resets: 'resets in 15 s' });
    expect(allowanceText(a, 11_000)).toEqual({ left: '1 AI request left', resets: 'resets in 5 s' });
    expect(allowanceText(a, 20_000).resets).toBeNull();
  });

  it('a room quota that binds: "of N in this room", no reset (it never refills)', () => {
    const rate = { ...full, remaining: 5, nextInMs: 1000, fullInMs: 3000 };
    expect(allowanceText(at({ enabled: true, quota: { limit: 3, remaining: 2 }, rate, left: 2 }), 1000)).toEqual({ left: '2 AI requests left (of 3 in this room)', resets: null });
    expect(allowanceText(at({ enabled: true, quota: { limit: 3, remaining: 0 }, rate, left: 0 }), 1000)).toEqual({ left: 'You have used all 3 AI requests in this room', resets: null });
  });

  it('the AI off', () => {
    expect(allowanceText(at({ enabled: false, quota: null, rate: full, left: 0 }), 1000).left).toMatch(/AI is off/);
  });

  it('shortDuration', () => {
    expect([shortDuration(0), shortDuration(59_000), shortDuration(61_000), shortDuration(3_900_000)]).toEqual(['1 s', '59 s', '2 min', '1 h 5 min']);
  });
});
