import type * as Y from 'yjs';
import type { RoomSettings } from '@ensemble/shared';
import type { RoomRecord } from '../storage/store';
import { endOfStoryAnchor, linearizeStory } from './anchor';

/** Whether document updates should (re)arm the auto-offer timer. */
export function autoModeArmed(settings: RoomSettings, engineAvailable: boolean): boolean {
  return settings.autoMode && settings.aiMode !== 'off' && engineAvailable;
}

/**
 * Whether the timer's offer may go ahead (before the connected members and the story are looked
 * at): auto mode still on, the document still loaded, nothing generating, and at least
 * `max(minIntervalSec, autoPauseSec)` since the room's last offer.
 */
export function autoOfferDue(settings: RoomSettings, state: { attached: boolean; active: number; msSinceLast: number; minIntervalSec: number }): boolean {
  if (!settings.autoMode || settings.aiMode === 'off' || !state.attached || state.active > 0) return false;
  return state.msSinceLast >= Math.max(state.minIntervalSec, settings.autoPauseSec) * 1000;
}

export interface AutoModeHost {
  engineAvailable: boolean;
  minIntervalSec: number;
  /** The cached room record and when it was read, if any. */
  cached(): { at: number; room: RoomRecord } | null;
  roomRecord(maxAgeMs?: number): Promise<RoomRecord>;
  /** The room's loaded document, if the agent is attached to one. */
  doc(): Y.Doc | null;
  activeGenerations(): number;
  memberCount(): Promise<number>;
  /** Requests the one-alternative continuation at `anchor`. */
  offer(anchor: Y.RelativePosition): Promise<unknown>;
  onSkipped(err: unknown): void;
}

/**
 * Auto mode: after `autoPauseSec` without document updates (from anyone but the agent), if nothing
 * is generating and someone is connected, the agent offers one continuation at the end of the
 * story; at most one per `max(autoMinIntervalSec, autoPauseSec)` per room.
 */
export class AutoMode {
  private timer: NodeJS.Timeout | null = null;
  private lastAt = 0;
  private disposed = false;

  constructor(
    private readonly host: AutoModeHost,
    private readonly now: () => number = Date.now,
  ) {}

  /** A document update not made by the agent: restart the pause. */
  schedule(): void {
    if (this.disposed || !this.host.doc()) return;
    const cached = this.host.cached();
    if (!cached) {
      void this.host.roomRecord().then(() => this.schedule()).catch(() => undefined);
      return;
    }
    if (!autoModeArmed(cached.room.settings, this.host.engineAvailable)) return;
    this.cancel();
    this.timer = setTimeout(() => void this.fire(), cached.room.settings.autoPauseSec * 1000);
    this.timer.unref?.();
    // Refresh settings in the background so a PATCH is seen within a few seconds.
    if (this.now() - cached.at > 5000) void this.host.roomRecord().catch(() => undefined);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  dispose(): void {
    this.disposed = true;
    this.cancel();
  }

  private async fire(): Promise<void> {
    this.timer = null;
    try {
      const room = await this.host.roomRecord(0);
      const state = { attached: this.host.doc() !== null, active: this.host.activeGenerations(), msSinceLast: this.now() - this.lastAt, minIntervalSec: this.host.minIntervalSec };
      if (!autoOfferDue(room.settings, state)) return;
      if ((await this.host.memberCount()) === 0) return;
      const doc = this.host.doc()!;
      if (linearizeStory(doc).text.trim().length === 0) return;
      this.lastAt = this.now();
      await this.host.offer(endOfStoryAnchor(doc));
    } catch (err) {
      this.host.onSkipped(err);
    }
  }
}
