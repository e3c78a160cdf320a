import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RoomBus, RoomChannel } from '../ports';
import type { RedisAvailability } from './redis-availability';
import { idAfter, KIND_AWARENESS, KIND_UPDATE, RedisRoomChannel, type ChannelBus, type EntryKind, type StreamPosition, type Subscription } from './redis-room-channel';

export interface RedisRoomBusOptions {
  /** Commands (XADD, XREVRANGE, CLIENT UNBLOCK). */
  command: Redis;
  /** A connection of its own: it spends its time blocked in XREAD. */
  reader: Redis;
  /** Key prefix; a room's stream is `<prefix>room:<roomId>`. */
  prefix: string;
  /** Entries a stream keeps (trimmed approximately, `MAXLEN ~`). */
  maxLen: number;
  logger: Logger;
  /** Whether Redis is reachable: while it is not, the bus works degraded (see the class). */
  availability: RedisAvailability;
}

/**
 * A loading process replays this much of the stream before the last entry it saw when it opened
 * the room: the process that accepted an update publishes it at once but stores it within
 * ENSEMBLE_FLUSH_MS (longer while its store retries), so the newest entries may be in neither
 * the storage just read nor the part of the stream after the recorded id.
 */
export const CATCH_UP_MARGIN_MS = 30_000;
/** An idle room's stream expires (every publish renews it): rooms no one edits leave no keys behind. */
const STREAM_TTL_MS = 24 * 3600 * 1000;
/** The compaction lease outlives a compaction by far; a holder that vanished is replaced after it. */
const LEASE_MS = 60_000;
const BLOCK_MS = 5000;
/** Take the lease when it is free or ours (then renew it). */
const CLAIM_LEASE = `local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;
const RELEASE_LEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;
const READ_COUNT = 512;
const READ_RETRY_MS = 500;
/** Stream entry fields: who published it, what it is, its bytes. */
const FIELD_ORIGIN = 'o';
const FIELD_KIND = 't';
const FIELD_DATA = 'd';

type StreamEntry = [id: Buffer, fields: Buffer[]];
type XReadReply = Array<[key: Buffer, entries: StreamEntry[]]> | null;

/** Where the catch-up starts: CATCH_UP_MARGIN_MS before the stream's last entry (Redis's clock), or its beginning. */
export function catchUpCursor(lastId: string | undefined): string {
  if (!lastId) return '0-0';
  const ms = Number(lastId.split('-')[0]) - CATCH_UP_MARGIN_MS;
  return ms > 0 ? `${ms}-0` : '0-0';
}

/**
 * The room bus over Redis streams (the y-redis design): one stream per room; every update and
 * awareness change a process accepts is XADDed, tagged with the process's id; one XREAD BLOCK
 * per process reads the streams of every room it has loaded and delivers the entries other
 * processes added, in stream order. A room opened or started while the read blocks interrupts
 * it (CLIENT UNBLOCK), so a new room never waits for the block to time out.
 *
 * Degraded while Redis is unreachable (`availability`): nothing is published (awareness renews
 * itself; updates are counted) and `published` resolves at once, so storing never waits for Redis;
 * leases are refused and compaction waits. Rooms opened meanwhile are located on the stream once it
 * is back. On recovery every loaded room re-publishes its whole state (`resync`): the others may
 * have missed what this process accepted, and a restarted Redis lost what they had not read yet.
 * A room that stored updates without the stream stores that state again too: a compaction by a
 * process that was up sooner may have snapshotted past an update whose append it did not see yet.
 */
export class RedisRoomBus implements RoomBus, ChannelBus {
  /** This process's tag on what it publishes (it skips its own entries when reading). */
  readonly processId = randomUUID();
  private readonly subscriptions = new Map<string, Subscription>();
  private readerId: string | null = null;
  private blocking = false;
  private readSeq = 0;
  private idle: (() => void) | null = null;
  private closed = false;
  private readonly loop: Promise<void>;
  /** Rooms that stored updates this process could not publish (Redis was down). */
  private readonly unpublished = new Set<string>();

  constructor(private readonly options: RedisRoomBusOptions) {
    options.availability.on('up', () => void this.recover());
    const rememberId = () => {
      // The id changes with every reconnect, and CLIENT UNBLOCK needs the current one.
      options.reader.client('ID').then(
        (id) => (this.readerId = String(id)),
        (err: unknown) => options.logger.warn({ err }, 'reading the Redis reader connection id failed'),
      );
    };
    options.reader.on('ready', rememberId);
    if (options.reader.status === 'ready') rememberId();
    this.loop = this.read();
  }

  keyOf(roomId: string): string {
    return `${this.options.prefix}room:${roomId}`;
  }

  async open(roomId: string): Promise<RoomChannel> {
    const key = this.keyOf(roomId);
    const position = await this.options.availability.whileUp(() => this.position(key), null);
    const leaseKey = `${this.options.prefix}compaction:${roomId}`;
    // Redis is down: the room serves this process's members now, and is located on the stream on recovery.
    if (!position) return new RedisRoomChannel(this, key, leaseKey, { lastId: undefined, added: null }, null);
    return new RedisRoomChannel(this, key, leaseKey, position, catchUpCursor(position.lastId));
  }

  /** XINFO STREAM: the stream's last entry and entries ever added; how many are gone (trimmed). */
  private async info(key: string): Promise<{ lastId: string | undefined; added: number | null; trimmed: number | null }> {
    let info: unknown[];
    try {
      info = (await this.options.command.call('XINFO', 'STREAM', key)) as unknown[];
    } catch (err) {
      if (/no such key/i.test((err as Error).message)) return { lastId: undefined, added: 0, trimmed: 0 };
      throw err;
    }
    const field = (name: string) => {
      const at = info.indexOf(name);
      return at < 0 ? undefined : info[at + 1];
    };
    const added = field('entries-added');
    const length = Number(field('length'));
    const lastEntry = field('last-entry') as [string, unknown] | null | undefined;
    return { lastId: lastEntry?.[0], added: added === undefined ? null : Number(added), trimmed: added === undefined ? null : Number(added) - length };
  }

  private async position(key: string): Promise<StreamPosition> {
    const { lastId, added } = await this.info(key);
    return { lastId, added };
  }

  /** Id of the stream's newest entry (none for an empty stream); null while Redis is unreachable. */
  async lastId(key: string): Promise<string | undefined | null> {
    return this.options.availability.whileUp(async () => {
      const last = (await this.options.command.xrevrange(key, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
      return last[0]?.[0];
    }, null);
  }

  /** Refused while Redis is unreachable: compaction waits for it (see `compactShared`). */
  async claimLease(key: string): Promise<boolean> {
    return this.options.availability.whileUp(async () => (await this.options.command.eval(CLAIM_LEASE, 1, key, this.processId, String(LEASE_MS))) === 1, false);
  }

  releaseLease(key: string): void {
    this.options.command.eval(RELEASE_LEASE, 1, key, this.processId).catch((err: unknown) => this.options.logger.warn({ err, key }, 'releasing a compaction lease failed; it expires'));
  }

  /** Stops reading; the connections are the caller's to close. */
  async close(): Promise<void> {
    this.closed = true;
    this.subscriptions.clear();
    this.idle?.();
    this.wake();
  }

  /** Resolves when the read loop has ended (after `close` and the connections closing). */
  async stopped(): Promise<void> {
    await this.loop;
  }

  subscribe(subscription: Subscription): void {
    if (this.closed) return;
    this.subscriptions.set(subscription.key, subscription);
    if (subscription.cursor === null) void this.locate(subscription);
    else this.wake();
  }

  hasUnpublished(key: string): boolean {
    return this.unpublished.has(key);
  }

  /** A room opened while Redis was down: read from where it stands now (less the catch-up margin). */
  private async locate(subscription: Subscription): Promise<void> {
    const position = await this.options.availability.whileUp(
      () => this.position(subscription.key),
      null,
    ).catch((err: unknown) => {
      this.options.logger.warn({ err, key: subscription.key }, 'locating a room stream failed; trying again when Redis is back');
      return null;
    });
    if (!position || subscription.cursor !== null) return;
    subscription.opened = position;
    subscription.cursor = catchUpCursor(position.lastId);
    this.wake();
  }

  /** Redis is back: locate the rooms opened meanwhile, and have every room re-publish its state. */
  private async recover(): Promise<void> {
    if (this.closed) return;
    const subscriptions = [...this.subscriptions.values()];
    await Promise.all(subscriptions.filter((s) => s.cursor === null).map((s) => this.locate(s)));
    for (const subscription of subscriptions) {
      if (this.subscriptions.get(subscription.key) !== subscription) continue;
      const stored = this.unpublished.delete(subscription.key);
      try {
        subscription.deliver.resync(stored);
        this.options.availability.resyncs.inc();
      } catch (err) {
        this.options.logger.error({ err, key: subscription.key }, 're-syncing a room after the Redis outage threw');
      }
    }
    this.wake();
  }

  unsubscribe(subscription: Subscription): void {
    if (this.subscriptions.get(subscription.key) === subscription) this.subscriptions.delete(subscription.key);
  }

  /**
   * Resolves (never rejects) once the entry is in the stream, adding it failed (which is logged),
   * or Redis is unreachable (degraded: the room re-syncs on recovery, see the class).
   */
  publish(key: string, kind: EntryKind, data: Uint8Array): Promise<void> {
    if (this.closed) return Promise.resolve();
    const { availability } = this.options;
    const skip = () => {
      if (kind !== KIND_UPDATE) return;
      this.unpublished.add(key);
      availability.unpublished.inc();
    };
    if (!availability.up) {
      skip();
      return Promise.resolve();
    }
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let added = false;
    const adding = this.options.command
      .pipeline()
      .xadd(key, 'MAXLEN', '~', String(this.options.maxLen), '*', FIELD_ORIGIN, this.processId, FIELD_KIND, kind, FIELD_DATA, bytes)
      .pexpire(key, STREAM_TTL_MS)
      .exec()
      .then((results) => {
        const failed = results?.find(([err]) => err !== null);
        if (failed) throw failed[0];
        added = true;
      })
      .catch((err: unknown) => this.options.logger.error({ err, key, kind }, 'publishing to the room stream failed; other processes miss this change'));
    // Redis went away before it answered: the entry may come in on reconnect, and the resync covers it anyway.
    return availability.whileUp(() => adding, undefined).then(() => {
      if (!added && !availability.up) skip();
    });
  }

  /** Makes the loop rebuild its XREAD: wakes it when idle, interrupts it when blocked. */
  private wake(): void {
    if (this.idle) {
      const resume = this.idle;
      this.idle = null;
      resume();
      return;
    }
    if (!this.blocking) return; // between reads: the next one already includes the change
    if (!this.options.availability.up) return; // the read is resent on reconnect, and `recover` wakes it
    const read = this.readSeq;
    void (async () => {
      // CLIENT UNBLOCK may reach Redis before the XREAD it is meant for: try again until that read ends.
      for (let attempt = 0; attempt < 50 && this.blocking && this.readSeq === read; attempt++) {
        if (this.readerId !== null && (await this.options.command.client('UNBLOCK', this.readerId)) === 1) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })().catch((err: unknown) => this.options.logger.warn({ err }, 'interrupting the stream read failed; the new room waits for the next read'));
  }

  private async read(): Promise<void> {
    while (!this.closed) {
      const subscriptions = [...this.subscriptions.values()].filter((s) => s.cursor !== null);
      if (subscriptions.length === 0) {
        await new Promise<void>((resolve) => (this.idle = resolve));
        continue;
      }
      let reply: XReadReply;
      this.readSeq++;
      this.blocking = true;
      try {
        reply = (await this.options.reader.xreadBuffer(
          'COUNT',
          READ_COUNT,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          ...subscriptions.map((s) => s.key),
          ...subscriptions.map((s) => s.cursor!),
        )) as XReadReply;
      } catch (err) {
        if (this.closed) return;
        this.options.logger.warn({ err }, 'reading the room streams failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS));
        continue;
      } finally {
        this.blocking = false;
      }
      for (const [key, entries] of reply ?? []) {
        const subscription = this.subscriptions.get(key.toString());
        if (subscription) await this.readBatch(subscription, entries);
      }
    }
  }

  /**
   * Delivers one batch. On a room's first read, and whenever the reader is behind (a full batch),
   * it first asks Redis whether trimming removed an entry it still had to read, i.e. one after
   * where the stream stood when the room was opened (older ones are stored; the catch-up margin
   * is only a safety net) and after what it has read since. Trimming takes the oldest entries,
   * so that is the case when more entries are gone than existed at the opening plus those read
   * since (Redis 7's XINFO counts; with an older Redis nothing is checked).
   */
  private async readBatch(subscription: Subscription, entries: StreamEntry[]): Promise<void> {
    const { opened } = subscription;
    if (opened.added !== null && (!subscription.checked || entries.length >= READ_COUNT)) {
      subscription.checked = true;
      const trimmed = await this.info(subscription.key).then(
        (info) => info.trimmed,
        (err: unknown) => {
          this.options.logger.warn({ err, key: subscription.key }, 'checking the room stream for trimming failed');
          return null;
        },
      );
      if (trimmed !== null && trimmed > opened.added + subscription.readSinceOpened) {
        this.options.logger.warn({ key: subscription.key, trimmed }, 'the room stream was trimmed past what this process had read; reloading the room');
        subscription.deliver.lost();
      }
    }
    for (const [idBytes, fields] of entries) {
      const id = idBytes.toString();
      subscription.cursor = id;
      if (opened.lastId === undefined || idAfter(id, opened.lastId)) subscription.readSinceOpened++;
      this.deliver(subscription, fields);
    }
  }

  private deliver(subscription: Subscription, fields: Buffer[]): void {
    const entry = new Map<string, Buffer>();
    for (let i = 0; i + 1 < fields.length; i += 2) entry.set(fields[i]!.toString(), fields[i + 1]!);
    if (entry.get(FIELD_ORIGIN)?.toString() === this.processId) return;
    const data = entry.get(FIELD_DATA);
    const kind = entry.get(FIELD_KIND)?.toString();
    if (!data || (kind !== KIND_UPDATE && kind !== KIND_AWARENESS)) {
      this.options.logger.warn({ key: subscription.key }, 'skipping a malformed room stream entry');
      return;
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    try {
      if (kind === KIND_UPDATE) subscription.deliver.update(bytes);
      else subscription.deliver.awareness(bytes);
    } catch (err) {
      this.options.logger.error({ err, key: subscription.key }, 'applying a room stream entry threw');
    }
  }
}
