import type { RoomChannel, RoomChannelListener } from '../ports';

export const KIND_UPDATE = 'u';
export const KIND_AWARENESS = 'a';
export type EntryKind = typeof KIND_UPDATE | typeof KIND_AWARENESS;

/** A stream's last entry id and how many entries were ever added (null: Redis before 7 does not say). */
export interface StreamPosition {
  lastId: string | undefined;
  added: number | null;
}

export interface Subscription {
  key: string;
  /** Id of the last entry read (XREAD returns what comes after it); null: not located yet (opened while Redis was down). */
  cursor: string | null;
  /** Where the stream stood when the room was opened: nothing after that may be missing (see `readBatch`). */
  opened: StreamPosition;
  /** Entries after `opened` read so far. */
  readSinceOpened: number;
  /** Whether the first read was checked for trimming. */
  checked: boolean;
  deliver: RoomChannelListener;
}

/** What a channel needs of its bus (redis-room-bus.ts). */
export interface ChannelBus {
  publish(key: string, kind: EntryKind, data: Uint8Array): Promise<void>;
  claimLease(key: string): Promise<boolean>;
  releaseLease(key: string): void;
  /** The stream's newest entry id; null when Redis is unreachable. */
  lastId(key: string): Promise<string | undefined | null>;
  subscribe(subscription: Subscription): void;
  /** Whether the room stored updates it could not publish (see RoomChannel.unpublished). */
  hasUnpublished(key: string): boolean;
  unsubscribe(subscription: Subscription): void;
}

/** How long a compaction waits for this process to read what the stream holds. */
const CATCH_UP_TIMEOUT_MS = 5000;

/** Compares stream ids (`<ms>-<seq>`): negative, zero or positive. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am !== bm ? am - bm : as - bs;
}
export const idAfter = (a: string, b: string) => compareIds(a, b) > 0;
const idAfterOrAt = (a: string, b: string) => compareIds(a, b) >= 0;

/** One loaded room's end of the bus. */
export class RedisRoomChannel implements RoomChannel {
  private subscription: Subscription | null = null;
  private closed = false;
  /** The last publish: the connection keeps order, so once it is in, every earlier one is too. */
  private lastPublish: Promise<void> = Promise.resolve();
  private leased = false;

  constructor(
    private readonly bus: ChannelBus,
    private readonly key: string,
    private readonly leaseKey: string,
    /** Where the stream stood when the room was opened (zero while Redis was down: located on recovery). */
    private readonly opened: StreamPosition,
    private readonly cursor: string | null,
  ) {}

  publishUpdate(update: Uint8Array): void {
    if (!this.closed) this.lastPublish = this.bus.publish(this.key, KIND_UPDATE, update);
  }

  publishAwareness(update: Uint8Array): void {
    if (!this.closed) this.lastPublish = this.bus.publish(this.key, KIND_AWARENESS, update);
  }

  published(): Promise<void> {
    return this.lastPublish;
  }

  get unpublished(): boolean {
    return this.bus.hasUnpublished(this.key);
  }

  async claimCompaction(): Promise<boolean> {
    if (this.closed) return false;
    this.leased = await this.bus.claimLease(this.leaseKey);
    return this.leased;
  }

  async caughtUp(): Promise<boolean> {
    const last = await this.bus.lastId(this.key);
    if (last === null) return false;
    const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
    for (;;) {
      if (last === undefined) return true;
      const cursor = this.subscription?.cursor;
      if (cursor && idAfterOrAt(cursor, last)) return true;
      if (this.closed || Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  start(deliver: RoomChannelListener): void {
    if (this.closed || this.subscription) return;
    this.subscription = { key: this.key, cursor: this.cursor, opened: this.opened, readSinceOpened: 0, checked: false, deliver };
    this.bus.subscribe(this.subscription);
  }

  close(): void {
    this.closed = true;
    if (this.subscription) this.bus.unsubscribe(this.subscription);
    if (this.leased) this.bus.releaseLease(this.leaseKey);
  }
}
