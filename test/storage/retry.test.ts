import { describe, expect, it } from 'vitest';
import { withRetry } from '../../server/src/storage/retry';
import { StoreError } from '../../server/src/storage/store-error';

describe('withRetry', () => {
  it('retries failures with growing delays and returns the first success', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async (attempt) => {
        calls++;
        if (attempt < 4) throw new Error(`flaky ${attempt}`);
        return 'flushed';
      },
      { attempts: 5, baseMs: 4, onRetry: (_error, _attempt, delayMs) => delays.push(delayMs) },
    );
    expect(result).toBe('flushed');
    expect(calls).toBe(4);
    expect(delays).toHaveLength(3);
    // 4, 8, 16 ms ± 25 % jitter
    [4, 8, 16].forEach((base, i) => {
      expect(delays[i]).toBeGreaterThanOrEqual(Math.floor(base * 0.75));
      expect(delays[i]).toBeLessThanOrEqual(Math.ceil(base * 1.25));
    });
  });

  it('rethrows the last error once attempts are used up', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async (attempt) => {
          calls++;
          throw new Error(`down ${attempt}`);
        },
        { attempts: 3, baseMs: 1 },
      ),
    ).rejects.toThrow('down 3');
    expect(calls).toBe(3);
  });

  it('does not retry store errors a retry cannot fix, but retries backend errors', async () => {
    let calls = 0;
    const conflict = new StoreError('createJoinCode', 'room_1', 'conflict', 'join code ABC123 is already in use');
    await expect(
      withRetry(async () => {
        calls++;
        throw conflict;
      }, { attempts: 5, baseMs: 1 }),
    ).rejects.toBe(conflict);
    expect(calls).toBe(1);

    calls = 0;
    const result = await withRetry(async () => {
      if (++calls < 2) throw StoreError.wrap('appendUpdates', 'room_1', new Error('connection reset'));
      return calls;
    }, { attempts: 5, baseMs: 1 });
    expect(result).toBe(2);
  });
});

describe('StoreError', () => {
  it('names the operation and the room, and keeps the cause', () => {
    const cause = new Error('disk I/O error');
    const error = StoreError.wrap('writeSnapshot', 'room_abc123', cause);
    expect(error.message).toBe('writeSnapshot failed for room room_abc123: disk I/O error');
    expect(error.code).toBe('backend');
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('StoreError');
    expect(StoreError.wrap('other', null, error)).toBe(error);
    expect(new StoreError('init', null, 'backend', 'no server').message).toBe('init failed: no server');
  });
});
