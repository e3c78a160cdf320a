import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { Config } from '../config';
import type { RequestBudgets, RoomBus, RoomEventSource, ServerContext } from '../ports';
import { RedisAgentLeases } from './agent-leases';
import { RedisAgentRelay } from './agent-relay';
import { redisBudgets } from './redis-budgets';
import { RedisAvailability } from './redis-availability';
import { RedisRoomBus } from './redis-room-bus';
import { RoomEventRelay } from './room-event-relay';

/** How long starting waits for Redis to answer before refusing to start. */
const CONNECT_TIMEOUT_MS = 10_000;
/** How long a member's agent command forwarded to the room's AI owner waits for its answer. */
const FORWARD_TIMEOUT_MS = 15_000;
/** How long closing waits for Redis to acknowledge QUIT before dropping the connections. */
const QUIT_TIMEOUT_MS = 2000;

/** What several processes serving the same rooms share through Redis. */
export interface RedisScale {
  /** Room updates and awareness between the processes (the document registry's bus). */
  bus: RoomBus;
  /** The /collab socket.io adapter: events reach the room's sockets on every process. */
  collabAdapter: NonNullable<ServerContext['collabAdapter']>;
  /** One AI owner per room across the processes (scale/agent-leases.ts). */
  agentLeases: NonNullable<ServerContext['agentLeases']>;
  /** Members' agent commands carried to the room's AI owner (scale/agent-relay.ts). */
  agentRelay: NonNullable<ServerContext['agentRelay']>;
  /** Request budgets every process shares (falling back to each process's memory while Redis is away). */
  budgets: RequestBudgets;
  /** `local`'s events, relayed to the other processes, plus theirs (with `relayed` true). */
  relayRoomEvents(local: RoomEventSource): Promise<RoomEventSource>;
  /**
   * The Redis connections' state for /healthz: 'ready' when all answer; 'down' while the rooms run
   * degraded (commands or stream reader lost); else the first other ioredis status.
   */
  status(): string;
  /** Whether this process reaches Redis (false: its rooms run degraded). */
  readonly available: RedisAvailability;
  /** Stops reading and closes the Redis connections (after the documents were flushed). */
  close(): Promise<void>;
}

/** Redis did not answer at startup: the process refuses to start rather than serve one process's view. */
export class RedisUnavailableError extends Error {
  constructor(url: string, cause: unknown) {
    super(`Redis at ${redactedUrl(url)} did not answer within ${CONNECT_TIMEOUT_MS} ms: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'RedisUnavailableError';
  }
}

/** The URL without its password, for messages. */
function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** Connects to ENSEMBLE_REDIS_URL (command, stream reader, and the adapter's subscriber connections). */
export async function connectRedisScale(config: Config, logger: Logger, options: { metricsRegistry?: Registry } = {}): Promise<RedisScale> {
  const url = config.ENSEMBLE_REDIS_URL;
  if (!url) throw new Error('connectRedisScale needs ENSEMBLE_REDIS_URL');
  // maxRetriesPerRequest null: while Redis is away commands wait for the reconnect instead of failing after 20 tries.
  const open = (name: string, options: { enableOfflineQueue?: boolean; maxRetriesPerRequest?: number | null } = {}) =>
    new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null, connectionName: `ensemble-${name}`, ...options });
  const command = open('command');
  const reader = open('reader');
  const subscriber = open('subscriber');
  const eventSubscriber = open('room-events');
  const agentSubscriber = open('agent-rpc');
  // Rate limits must answer at once: no queue while Redis is away (the limiter falls back to memory).
  const limits = open('limits', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  const connections = [command, reader, subscriber, eventSubscriber, agentSubscriber, limits];
  for (const connection of connections) {
    // Once per connection until it is ready again: ioredis retries every 2 s while Redis is away.
    let reported = false;
    connection.on('ready', () => (reported = false));
    connection.on('error', (err: Error) => {
      if (!reported) logger.warn({ err: err.message, connection: connection.options.connectionName }, 'Redis connection error; retrying');
      reported = true;
    });
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.all(connections.map((c) => c.connect())),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), CONNECT_TIMEOUT_MS))),
    ]);
  } catch (err) {
    for (const connection of connections) connection.disconnect();
    throw new RedisUnavailableError(url, err);
  } finally {
    clearTimeout(timer);
  }
  const available = new RedisAvailability([command, reader], logger, options.metricsRegistry ?? new Registry());
  const bus = new RedisRoomBus({ command, reader, prefix: config.ENSEMBLE_REDIS_PREFIX, maxLen: config.ENSEMBLE_REDIS_STREAM_MAXLEN, logger, availability: available });
  let relay: RoomEventRelay | null = null;
  const prefix = config.ENSEMBLE_REDIS_PREFIX;
  const agentLeases = new RedisAgentLeases({ command, prefix, processId: bus.processId, ttlMs: config.ENSEMBLE_AGENT_LEASE_MS, logger, availability: available });
  const agentRelay = new RedisAgentRelay({ publisher: command, subscriber: agentSubscriber, prefix, processId: bus.processId, timeoutMs: FORWARD_TIMEOUT_MS, logger });
  try {
    await agentRelay.start();
  } catch (err) {
    for (const connection of connections) connection.disconnect();
    throw new RedisUnavailableError(url, err);
  }
  logger.info({ processId: bus.processId, prefix: config.ENSEMBLE_REDIS_PREFIX }, 'sharing rooms with other processes over Redis');
  return {
    bus,
    agentLeases,
    agentRelay,
    collabAdapter: createAdapter(command, subscriber, { key: `${config.ENSEMBLE_REDIS_PREFIX}socket.io` }),
    available,
    budgets: redisBudgets(limits, config.ENSEMBLE_REDIS_PREFIX, logger),
    status: () => (available.up ? (connections.find((c) => c.status !== 'ready')?.status ?? 'ready') : 'down'),
    async relayRoomEvents(local) {
      relay = new RoomEventRelay({ local, publisher: command, subscriber: eventSubscriber, channel: `${config.ENSEMBLE_REDIS_PREFIX}room-events`, processId: bus.processId, logger });
      await relay.start();
      return relay;
    },
    async close() {
      const reachable = available.up;
      available.stop();
      relay?.stop();
      agentRelay.stop();
      agentLeases.releaseAll();
      await bus.close();
      reader.disconnect();
      const others = [command, subscriber, eventSubscriber, agentSubscriber, limits];
      // While Redis is away, QUIT and the pending stream read wait for it forever (ioredis keeps
      // them queued, and disconnect() does not fail them): give up on them, and drop the sockets.
      const settled = Promise.all([bus.stopped(), Promise.allSettled(others.map((c) => c.quit()))]).then(() => true);
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), reachable ? QUIT_TIMEOUT_MS : 0)));
      if (!(await Promise.race([settled, waited]))) for (const connection of others) connection.disconnect();
      clearTimeout(timer);
    },
  };
}
