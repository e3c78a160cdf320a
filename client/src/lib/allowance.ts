import type { AiAllowance } from '@ensemble/shared';

/** An allowance and when it arrived (its times count from then). */
export interface ReceivedAllowance {
  allowance: AiAllowance;
  receivedAt: number;
}

/** "12 s", "3 min", "1 h 5 min": a short duration for "resets in …". */
export function shortDuration(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.ceil(s / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h${min % 60 ? ` ${min % 60} min` : ''}`;
}

/**
 * What the AI panel tells a student: how many requests they have left and, while their rate budget
 * is refilling, when it is full again. A spent room quota never refills, so it gets no reset time.
 */
export function allowanceText({ allowance, receivedAt }: ReceivedAllowance, now: number): { left: string; resets: string | null } {
  const { enabled, quota, rate, left } = allowance;
  if (!enabled) return { left: 'The AI is off: no requests left', resets: null };
  if (quota && quota.remaining === 0) return { left: `You have used all ${quota.limit} AI requests in this room`, resets: null };
  const leftText = `${left} AI request${left === 1 ? '' : 's'} left`;
  const quotaBinds = quota !== null && quota.remaining <= rate.remaining;
  const fullIn = rate.fullInMs - (now - receivedAt);
  if (quotaBinds || rate.remaining >= rate.capacity || fullIn <= 0) {
    return { left: quota ? `${leftText} (of ${quota.limit} in this room)` : leftText, resets: null };
  }
  return { left: leftText, resets: `resets in ${shortDuration(fullIn)}` };
}
