import type { AiAllowance } from '@ensemble/shared';
import type { Actor } from './types';

export interface AllowanceDeps {
  /** The member's allowance now (the room agent's admission). */
  compute(roomId: string, actor: Actor): Promise<AiAllowance>;
  /** Sends it to every socket of that member. */
  send(roomId: string, memberId: string, allowance: AiAllowance): void;
  onError(err: unknown): void;
}

/**
 * Keeps each connected member's `ai:allowance` current: `push` sends it now and, while their rate
 * budget is below full, again when the next request comes back — so "N left" counts up on its own.
 * One timer per member (not per socket); `forget` drops it when their last socket leaves.
 */
export class AllowanceNotifier {
  private readonly timers = new Map<string, { timer: ReturnType<typeof setTimeout>; actor: Actor; roomId: string }>();
  private closed = false;

  constructor(private readonly deps: AllowanceDeps) {}

  async push(roomId: string, actor: Actor): Promise<void> {
    if (this.closed || actor.role === 'viewer') return;
    const key = `${roomId}:${actor.memberId}`;
    this.clearTimer(key);
    let allowance: AiAllowance;
    try {
      allowance = await this.deps.compute(roomId, actor);
    } catch (err) {
      this.deps.onError(err);
      return;
    }
    if (this.closed) return;
    this.deps.send(roomId, actor.memberId, allowance);
    if (allowance.rate.remaining < allowance.rate.capacity) {
      // A push that raced this one may have set a timer meanwhile: one timer per member.
      this.clearTimer(key);
      const timer = setTimeout(() => void this.push(roomId, actor), Math.max(50, allowance.rate.nextInMs));
      timer.unref?.();
      this.timers.set(key, { timer, actor, roomId });
    }
  }

  /** Re-sends to each of `members` (the room's settings changed, say). */
  async pushAll(roomId: string, members: Actor[]): Promise<void> {
    await Promise.all(members.map((actor) => this.push(roomId, actor)));
  }

  forget(roomId: string, memberId: string): void {
    this.clearTimer(`${roomId}:${memberId}`);
  }

  close(): void {
    this.closed = true;
    for (const key of [...this.timers.keys()]) this.clearTimer(key);
  }

  private clearTimer(key: string): void {
    const entry = this.timers.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.timers.delete(key);
  }
}
