import type { AiAllowance, Role, RoomSettings } from '@ensemble/shared';
import type { RoomRecord } from '../storage/store';
import { AgentError } from './errors';
import type { RequestBudget } from '../ports';
import type { Actor } from './types';

const EDITING_ROLES: ReadonlySet<Role> = new Set(['owner', 'editor']);

/** Owners and editors may ask the AI and act on its proposals; viewers only watch. */
export function canEdit(role: Role): boolean {
  return EDITING_ROLES.has(role);
}

export interface AdmissionDeps {
  roomId: string;
  /** False when the server runs without an inference engine (every request: `ai_disabled`). */
  engineAvailable: boolean;
  limiter: RequestBudget;
  maxConcurrentPerRoom: number;
  /** The room's record (settings), cached by the caller. */
  room(): Promise<RoomRecord>;
  /** Who requested each proposal stored for the room (the quota counts them once, lazily). */
  storedRequesters(): Promise<string[]>;
}

/**
 * Who may ask the AI for what in one room: role, the room's `aiMode`, the per-member quota of
 * `limited` rooms (owners exempt), the per-member rate and the room's concurrent generations.
 */
export class Admission {
  private readonly uses = new Map<string, number>();
  private usesLoaded: Promise<void> | null = null;

  constructor(private readonly deps: AdmissionDeps) {}

  /** Throws `forbidden` with `message` unless the actor is an editor or owner. */
  requireEditor(actor: Actor, message: string): void {
    if (!canEdit(actor.role)) throw new AgentError('forbidden', message);
  }

  /**
   * Acting on an earlier proposal (accept) puts AI text into the story, so it is refused like a new
   * request while the room's AI is off: turning the AI off must keep AI text out, not just new asks.
   */
  async requireAiOn(what: string): Promise<void> {
    const room = await this.deps.room();
    if (room.settings.aiMode === 'off') throw new AgentError('ai_disabled', `the AI is turned off in this room, so ${what} cannot be accepted`);
  }

  /** Role, AI mode, quota and rate checks shared by every kind of request. Returns the room. */
  async admit(actor: Actor, generations: number, active: number): Promise<RoomRecord> {
    this.requireEditor(actor, 'viewers can watch the AI but not ask it');
    if (!this.deps.engineAvailable) throw new AgentError('ai_disabled', 'the AI collaborator is not available on this server');
    const room = await this.deps.room();
    const s: RoomSettings = room.settings;
    if (s.aiMode === 'off') throw new AgentError('ai_disabled', 'the AI is turned off in this room');
    if (s.aiMode === 'limited' && actor.role !== 'owner') {
      await this.countUses();
      const used = this.uses.get(actor.memberId) ?? 0;
      if (used >= s.aiUsesPerMember) throw new AgentError('quota_exhausted', `you have used all ${s.aiUsesPerMember} AI requests allowed in this room`);
    }
    const key = `${this.deps.roomId}:${actor.memberId}`;
    const waitMs = await this.deps.limiter.consume(key);
    if (waitMs > 0) throw new AgentError('rate_limited', `too many AI requests; try again in ${Math.ceil(waitMs / 1000)} s`);
    if (generations > 0 && active + generations > this.deps.maxConcurrentPerRoom) {
      throw new AgentError('busy', `the AI is already writing ${active} alternatives in this room; wait or stop one`);
    }
    return room;
  }

  /**
   * What `admit` would let the member ask now, without taking anything: the `limited` quota (owners
   * exempt) and the rate bucket — the same rules and the same counters.
   */
  async allowance(actor: Actor): Promise<AiAllowance> {
    const room = await this.deps.room();
    const s: RoomSettings = room.settings;
    const enabled = this.deps.engineAvailable && s.aiMode !== 'off' && canEdit(actor.role);
    let quota: AiAllowance['quota'] = null;
    if (s.aiMode === 'limited' && actor.role !== 'owner') {
      await this.countUses();
      quota = { limit: s.aiUsesPerMember, remaining: Math.max(0, s.aiUsesPerMember - (this.uses.get(actor.memberId) ?? 0)) };
    }
    const rate = await this.deps.limiter.standing(`${this.deps.roomId}:${actor.memberId}`);
    const left = enabled ? Math.min(rate.remaining, quota?.remaining ?? Infinity) : 0;
    return { enabled, quota, rate, left };
  }

  /** Auto mode skips the member checks but not the room's capacity. */
  admitAuto(generations: number, active: number): void {
    if (active + generations > this.deps.maxConcurrentPerRoom) throw new AgentError('busy', 'busy');
  }

  /** Counts one request against the member's quota. */
  async spend(memberId: string): Promise<void> {
    await this.countUses().catch(() => undefined);
    this.uses.set(memberId, (this.uses.get(memberId) ?? 0) + 1);
  }

  private async countUses(): Promise<void> {
    if (!this.usesLoaded) {
      this.usesLoaded = (async () => {
        for (const requester of await this.deps.storedRequesters()) this.uses.set(requester, (this.uses.get(requester) ?? 0) + 1);
      })();
      this.usesLoaded.catch(() => {
        this.usesLoaded = null;
      });
    }
    await this.usesLoaded;
  }
}
