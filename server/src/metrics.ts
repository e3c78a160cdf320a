import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { SLICE_NAMES, withSlices } from './storage/slices';
import type { Stores } from './storage/store';

/**
 * The server's Prometheus metrics, on a registry of its own (several servers can live in one
 * process, e.g. in tests). Served at GET /metrics; extensions add theirs to `registry`.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly connections: Gauge;
  readonly roomsLoaded: Gauge;
  readonly updates: Counter<'source'>;
  readonly storeLatency: Histogram<'op'>;
  readonly storeErrors: Counter<'op'>;
  readonly storeRetries: Counter<'op'>;
  readonly rejectedMessages: Counter<'reason'>;
  readonly roomResets: Counter;
  readonly inboundThrottles: Counter;
  readonly disconnects: Counter<'reason'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'ensemble_' });
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) => new Counter<L>({ name, help, labelNames, registers });
    const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
    this.connections = gauge('ensemble_connections', 'Open websocket sync connections');
    this.roomsLoaded = gauge('ensemble_rooms_loaded', 'Room documents loaded in memory');
    this.updates = counter('ensemble_updates_total', 'Document updates applied (rate() gives updates/s)', ['source']);
    this.storeLatency = new Histogram({
      name: 'ensemble_store_latency_seconds',
      help: 'Latency of store operations',
      labelNames: ['op'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.storeErrors = counter('ensemble_store_errors_total', 'Failed store operations', ['op']);
    this.storeRetries = counter('ensemble_store_retries_total', 'Document writes retried after a store failure', ['op']);
    this.rejectedMessages = counter('ensemble_sync_rejected_messages_total', 'Sync messages refused (malformed, too big, viewer writes, awareness abuse)', ['reason']);
    this.disconnects = counter('ensemble_sync_disconnects_total', 'Sync connections the server closed for misbehaving (slow_consumer, awareness_abuse)', ['reason']);
    this.inboundThrottles = counter(
      'ensemble_sync_inbound_throttles_total',
      'Times a sync socket stopped being read because its member sent more than ENSEMBLE_INBOUND_BYTES_PER_SEC',
    );
    this.roomResets = counter('ensemble_room_resets_total', 'Room documents reloaded from storage because applying an update threw inside Yjs');
  }
}

/**
 * Wraps every async method of every storage slice so its latency and failures are recorded,
 * labelled with the method's name (`op`), as before the store was split into slices.
 */
export function instrumentStore<S extends Stores>(storage: S, metrics: Metrics): S {
  return withSlices(storage, Object.fromEntries(SLICE_NAMES.map((name) => [name, instrumentSlice(storage[name], metrics)])));
}

function instrumentSlice<T extends object>(store: T, metrics: Metrics): T {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'constructor') return value;
      const op = prop;
      return function instrumented(this: unknown, ...args: unknown[]) {
        const end = metrics.storeLatency.startTimer({ op });
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (err) {
          end();
          metrics.storeErrors.inc({ op });
          throw err;
        }
        if (result instanceof Promise) {
          return result.then(
            (v) => {
              end();
              return v;
            },
            (err: unknown) => {
              end();
              metrics.storeErrors.inc({ op });
              throw err;
            },
          );
        }
        end();
        return result;
      };
    },
  });
}
