import { describe, expect, it } from 'vitest';
import { KeyedCounter } from '../../server/src/limits/keyed-counter';
import { SocketLimiter } from '../../server/src/auth/socket-limiter';

describe('KeyedCounter', () => {
  it('counts per key and forgets a key that returns to zero', () => {
    const c = new KeyedCounter();
    c.increment('a');
    c.increment('a');
    c.increment('b');
    expect([c.get('a'), c.get('b'), c.get('none'), c.size]).toEqual([2, 1, 0, 2]);
    c.decrement('a');
    c.decrement('a');
    c.decrement('b');
    expect([c.get('a'), c.size]).toEqual([0, 0]);
    c.decrement('a'); // an extra release does not go negative
    expect(c.get('a')).toBe(0);
  });
});

describe('SocketLimiter', () => {
  it('refuses past the per-member and per-address caps; a slot released twice frees one place', () => {
    const limiter = new SocketLimiter(2, 3);
    const a1 = limiter.acquire('room:a', '10.0.0.1');
    const a2 = limiter.acquire('room:a', '10.0.0.1');
    expect(limiter.acquire('room:a', '10.0.0.2')).toEqual({ refused: expect.stringMatching(/for this member \(at most 2\)/) });
    const b1 = limiter.acquire('room:b', '10.0.0.1');
    expect(limiter.acquire('room:c', '10.0.0.1')).toEqual({ refused: expect.stringMatching(/from this address \(at most 3\)/) });
    if (!('slot' in a1) || !('slot' in a2) || !('slot' in b1)) throw new Error('expected slots');
    a1.slot();
    a1.slot();
    expect('slot' in limiter.acquire('room:c', '10.0.0.1')).toBe(true);
    expect(limiter.acquire('room:d', '10.0.0.1')).toEqual({ refused: expect.any(String) });
  });
});
