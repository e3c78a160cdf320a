import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Whether this process reaches Redis right now. Down as soon as one of the watched connections
 * (commands, stream reader) loses its socket; up again once all are ready. While down the room bus
 * works degraded (see redis-room-bus.ts): rooms keep serving this process's members, updates are
 * stored without waiting for the stream, and on `up` every loaded room re-syncs through it.
 * A Redis that stops answering without closing the socket is noticed only when TCP gives up.
 */
export class RedisAvailability extends EventEmitter<{ down: []; up: [] }> {
  private isUp = true;
  private stopped = false;
  /** Callers of `whileUp` still waiting: answered with their fallback when Redis goes away. */
  private readonly waiting = new Set<() => void>();
  private readonly upGauge: Gauge;
  private readonly outages: Counter;
  readonly unpublished: Counter;
  readonly resyncs: Counter;

  constructor(
    private readonly connections: Redis[],
    private readonly logger: Logger,
    registry: Registry,
  ) {
    super();
    this.upGauge = new Gauge({ name: 'ensemble_redis_up', help: '1 while this process reaches Redis, 0 while it serves its rooms degraded', registers: [registry] });
    this.outages = new Counter({ name: 'ensemble_redis_degraded_periods_total', help: 'Times Redis became unreachable and rooms went on degraded', registers: [registry] });
    this.unpublished = new Counter({
      name: 'ensemble_redis_unpublished_updates_total',
      help: 'Updates stored while Redis was down (not on the room stream; each room re-syncs its whole state on recovery)',
      registers: [registry],
    });
    this.resyncs = new Counter({ name: 'ensemble_redis_room_resyncs_total', help: 'Rooms that re-published their state after a Redis outage', registers: [registry] });
    this.upGauge.set(1);
    for (const connection of connections) {
      connection.on('close', () => this.markDown());
      connection.on('ready', () => this.markUpIfAllReady());
    }
  }

  get up(): boolean {
    return this.isUp;
  }

  /**
   * `work`, unless Redis is or becomes unreachable first: then `fallback`. Commands wait for a
   * reconnect (ioredis queues them), so this keeps a caller from waiting for Redis to return.
   */
  whileUp<T>(work: () => Promise<T>, fallback: T): Promise<T> {
    if (!this.isUp) return Promise.resolve(fallback);
    // A set entry per call, not a reaction on one long-lived promise: those would pile up while Redis stays up.
    return new Promise<T>((resolve, reject) => {
      const abandon = () => resolve(fallback);
      this.waiting.add(abandon);
      work()
        .then(resolve, reject)
        .finally(() => this.waiting.delete(abandon));
    });
  }

  /** Shutdown: the connections closing now is no outage. */
  stop(): void {
    this.stopped = true;
  }

  private markDown(): void {
    if (!this.isUp || this.stopped) return;
    this.isUp = false;
    this.upGauge.set(0);
    this.outages.inc();
    this.logger.error('Redis is unreachable: rooms go on degraded (each process serves its own members; updates are stored, and re-synced when Redis returns)');
    for (const abandon of this.waiting) abandon();
    this.waiting.clear();
    this.emit('down');
  }

  private markUpIfAllReady(): void {
    if (this.isUp || this.stopped || this.connections.some((c) => c.status !== 'ready')) return;
    this.isUp = true;
    this.upGauge.set(1);
    this.logger.info('Redis is back: re-syncing the loaded rooms through it');
    this.emit('up');
  }
}
