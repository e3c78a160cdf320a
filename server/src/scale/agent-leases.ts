import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AgentLeases } from '../ports';

/**
 * Takes the lease if free (a new fencing token from the room's counter, INCR: every holder's is
 * larger than the one before) or returns ours if we hold it; 0 while another process does.
 * The value is `<processId>:<token>`.
 */
const ACQUIRE = `
local v = redis.call('GET', KEYS[1])
if v then
  local sep = string.find(v, ':', 1, true)
  if sep and string.sub(v, 1, sep - 1) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(string.sub(v, sep + 1))
  end
  return 0
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
return token`;

/** Extends the lease only while it still holds our value (check-and-extend in one step). */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

interface Held {
  events: Parameters<AgentLeases['hold']>[1];
  token: number | null;
  /** When the last successful acquire or renewal was sent: the lease is ours until then + ttl. */
  renewedAt: number;
  busy: boolean;
  stopped: boolean;
  timer: NodeJS.Timeout;
  first: Promise<void>;
}

/**
 * One AI owner per room across processes: a Redis lease per room (`<prefix>agent:<room>`, PX ttl)
 * that every process with the room's agent tries to take, and its holder renews every third of
 * the ttl. A holder that dies stops renewing; within the ttl (plus one try) another takes it.
 * The fencing token (`<prefix>agent-fence:<room>`, never expires) lets writes check they come
 * from the current holder (`isCurrent`): a holder that stalled past its ttl finds out before
 * writing, not after.
 */
export class RedisAgentLeases implements AgentLeases {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly options: { command: Redis; prefix: string; processId: string; ttlMs: number; logger: Logger; availability?: { readonly up: boolean } },
  ) {}

  get processId(): string {
    return this.options.processId;
  }

  hold(roomId: string, events: Held['events']): Promise<void> {
    const existing = this.held.get(roomId);
    if (existing) return existing.first;
    const held: Held = { events, token: null, renewedAt: 0, busy: false, stopped: false, timer: undefined as unknown as NodeJS.Timeout, first: Promise.resolve() };
    held.timer = setInterval(() => void this.tick(roomId, held), Math.max(100, Math.floor(this.options.ttlMs / 3)));
    held.timer.unref?.();
    this.held.set(roomId, held);
    held.first = this.tick(roomId, held);
    return held.first;
  }

  release(roomId: string): void {
    const held = this.held.get(roomId);
    if (!held) return;
    this.held.delete(roomId);
    held.stopped = true;
    clearInterval(held.timer);
    if (held.token !== null) this.giveUp(roomId, held.token);
    held.token = null;
  }

  reachable(): boolean {
    return this.options.availability?.up ?? true;
  }

  async holder(roomId: string): Promise<string | null> {
    const value = await this.options.command.get(this.leaseKey(roomId));
    return value ? value.slice(0, value.indexOf(':')) : null;
  }

  async isCurrent(roomId: string, token: number): Promise<boolean> {
    return (await this.options.command.get(this.leaseKey(roomId))) === this.value(token);
  }

  /** Gives up every lease (shutdown: the others take over at once instead of after the ttl). */
  releaseAll(): void {
    for (const roomId of [...this.held.keys()]) this.release(roomId);
  }

  private async tick(roomId: string, held: Held): Promise<void> {
    if (held.busy || held.stopped) return;
    held.busy = true;
    const sentAt = Date.now();
    const { command, processId, ttlMs, logger } = this.options;
    try {
      if (held.token === null) {
        const token = Number(await command.eval(ACQUIRE, 2, this.leaseKey(roomId), this.fenceKey(roomId), processId, String(ttlMs)));
        if (token <= 0) return;
        if (held.stopped) return this.giveUp(roomId, token);
        held.token = token;
        held.renewedAt = sentAt;
        logger.info({ roomId, token }, "this process now runs the room's AI collaborator");
        held.events.gained(token);
      } else if ((await command.eval(RENEW, 1, this.leaseKey(roomId), this.value(held.token), String(ttlMs))) === 1) {
        held.renewedAt = sentAt;
      } else {
        this.lose(roomId, held, 'another process holds the lease');
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message, roomId }, 'the AI lease could not be taken or renewed');
      // Redis unreachable: the lease expires on its own; stop acting as owner once it may have.
      if (held.token !== null && Date.now() - held.renewedAt >= ttlMs) this.lose(roomId, held, 'the lease could not be renewed in time');
    } finally {
      held.busy = false;
    }
  }

  private lose(roomId: string, held: Held, why: string): void {
    if (held.token === null) return;
    this.options.logger.warn({ roomId, token: held.token, why }, "this process no longer runs the room's AI collaborator");
    held.token = null;
    held.events.lost();
  }

  private giveUp(roomId: string, token: number): void {
    this.options.command
      .eval(RELEASE, 1, this.leaseKey(roomId), this.value(token))
      .catch((err: unknown) => this.options.logger.warn({ err: (err as Error).message, roomId }, 'releasing the AI lease failed; it expires'));
  }

  private value(token: number): string {
    return `${this.options.processId}:${token}`;
  }

  private leaseKey(roomId: string): string {
    return `${this.options.prefix}agent:${roomId}`;
  }

  private fenceKey(roomId: string): string {
    return `${this.options.prefix}agent-fence:${roomId}`;
  }
}
