/**
 * Admission: the one place that decides whether a request may queue (the queue limit) and which
 * waiting requests join the batch (fair across rooms, per-room caps). The scheduler's
 * `schedule()` asks `RoomQueues.admit()`; `Scheduler.add()` asks `AdmissionPolicy.checkQueue()`
 * (the worker engine, which must answer 'busy' synchronously on the main thread, asks the same
 * policy there and runs its worker's scheduler without a queue limit).
 */
import { InferenceError } from './errors';

export interface AdmissionLimits {
  maxBatch: number;
  maxQueue: number;
  /** Most running sequences one room may hold (default maxBatch - 1, at least 1). */
  maxPerRoom?: number;
}

export class AdmissionPolicy {
  readonly maxBatch: number;
  readonly maxQueue: number;
  readonly maxPerRoom: number;

  constructor(
    limits: AdmissionLimits,
    /** Hears each refusal (the requests_total{outcome="busy"} metric). */
    private readonly onBusy?: (model?: string) => void,
  ) {
    this.maxBatch = Math.max(1, limits.maxBatch);
    this.maxQueue = Math.max(0, limits.maxQueue);
    this.maxPerRoom = Math.max(1, Math.min(this.maxBatch, limits.maxPerRoom ?? this.maxBatch - 1));
  }

  /** Throws InferenceError 'busy' when `waiting` requests already fill the queue (of `model`, for the metric). */
  checkQueue(waiting: number, model?: string): void {
    if (waiting >= this.maxQueue) {
      this.onBusy?.(model);
      throw new InferenceError('busy', `the AI is busy: ${waiting} requests are already queued (ENSEMBLE_MAX_QUEUE=${this.maxQueue})`);
    }
  }
}

/**
 * For graphs that derive positions from the past length (no position_ids input): a left-padded
 * row would be shifted, so one batch holds only prompts of the first admitted one's length.
 */
export function sameLength(item: { promptIds: readonly number[] }, chosen: ReadonlyArray<{ promptIds: readonly number[] }>): boolean {
  return chosen.length === 0 || chosen[0]!.promptIds.length === item.promptIds.length;
}

/** What admission needs of a request. */
export interface Queued {
  readonly id: number;
  readonly roomId: string;
}

interface RoomQueue<T> {
  queue: T[];
  lastServed: number;
}

/** Waiting requests, one FIFO per room, admitted round-robin across rooms. */
export class RoomQueues<T extends Queued> {
  private rooms = new Map<string, RoomQueue<T>>();
  private serveCounter = 0;
  private count = 0;

  constructor(private readonly policy: AdmissionPolicy) {}

  get size(): number {
    return this.count;
  }

  /** Queues `item` (the caller has asked `AdmissionPolicy.checkQueue(size)` first). */
  enqueue(item: T): void {
    let room = this.rooms.get(item.roomId);
    if (!room) {
      room = { queue: [], lastServed: 0 };
      this.rooms.set(item.roomId, room);
    }
    room.queue.push(item);
    this.count++;
  }

  /** Removes a waiting item (false when it was not waiting). */
  remove(item: T): boolean {
    const room = this.rooms.get(item.roomId);
    const i = room ? room.queue.indexOf(item) : -1;
    if (!room || i < 0) return false;
    room.queue.splice(i, 1);
    this.count--;
    return true;
  }

  /**
   * Takes up to `free` waiting items. The room served least recently goes first (ties: the
   * oldest request), so a room with many queued requests cannot starve another room's single
   * request; a room holds at most `maxPerRoom` running slots (`running` lists the rooms of the
   * sequences already running), so a slot stays free for another room.
   */
  admit(free: number, running: Iterable<string>, fits?: (item: T, chosen: readonly T[]) => boolean): T[] {
    const out: T[] = [];
    const held = new Map<string, number>();
    for (const roomId of running) held.set(roomId, (held.get(roomId) ?? 0) + 1);
    while (out.length < free && this.count > 0) {
      let best: [string, RoomQueue<T>] | undefined;
      for (const entry of this.rooms) {
        const [roomId, room] = entry;
        if (room.queue.length === 0 || (held.get(roomId) ?? 0) >= this.policy.maxPerRoom) continue;
        if (fits && !fits(room.queue[0]!, out)) continue;
        const b = best?.[1];
        if (!b || room.lastServed < b.lastServed || (room.lastServed === b.lastServed && room.queue[0]!.id < b.queue[0]!.id)) best = entry;
      }
      if (!best) break;
      const [roomId, room] = best;
      out.push(room.queue.shift()!);
      room.lastServed = ++this.serveCounter;
      held.set(roomId, (held.get(roomId) ?? 0) + 1);
      this.count--;
    }
    if (this.rooms.size > 10_000) {
      for (const [id, room] of this.rooms) if (room.queue.length === 0) this.rooms.delete(id);
    }
    return out;
  }
}
