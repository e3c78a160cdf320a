/**
 * The engines one task can use: one official `openai` client per base URL, each polled on
 * `/v1/models` (the one endpoint vLLM, TGI, llama.cpp, Ollama and Ensemble all answer) to know it
 * is up and what it serves. Requests go to the least-loaded engine that is up (fewest requests
 * this process has in flight there), round-robin among equals; a failed one is tried last.
 */
import OpenAI from 'openai';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EngineLogger } from '../inference';
import { ModelList, describeIssue, type RemoteModel } from './schemas';

export interface PoolOptions {
  urls: readonly string[];
  apiKey?: string;
  /** Which task the pool is for: a label of its metrics and logs. */
  task: string;
  healthMs: number;
  logger: EngineLogger;
  registry?: Registry;
}

export class Endpoint {
  inFlight = 0;
  /** Unknown (false) until the first health check answers. */
  up = false;
  models: RemoteModel[] = [];
  lastError: string | null = null;

  constructor(
    readonly url: string,
    readonly client: OpenAI,
  ) {}

  serves(model: string): boolean {
    return this.models.some((m) => m.id === model);
  }
}

interface PoolMetrics {
  up: Gauge<'url' | 'task'>;
  inFlight: Gauge<'url' | 'task'>;
  failures: Counter<'url' | 'task' | 'reason'>;
}

function poolMetrics(registry: Registry | undefined): PoolMetrics | null {
  if (!registry) return null;
  const reuse = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    up: reuse('ensemble_inference_endpoint_up', () => new Gauge({ name: 'ensemble_inference_endpoint_up', help: 'Remote inference engine answering its health check (1) or not (0)', labelNames: ['url', 'task'], registers: [registry] })),
    inFlight: reuse('ensemble_inference_endpoint_in_flight', () => new Gauge({ name: 'ensemble_inference_endpoint_in_flight', help: 'Requests this process has in flight at a remote inference engine', labelNames: ['url', 'task'], registers: [registry] })),
    failures: reuse('ensemble_inference_endpoint_failures_total', () => new Counter({ name: 'ensemble_inference_endpoint_failures_total', help: 'Remote inference requests that failed at an engine, by reason (unreachable, stalled, status, malformed, gone)', labelNames: ['url', 'task', 'reason'], registers: [registry] })),
  };
}

export class EndpointPool {
  readonly endpoints: Endpoint[];
  private readonly metrics: PoolMetrics | null;
  private timer: NodeJS.Timeout | null = null;
  private turn = 0;

  constructor(private readonly options: PoolOptions) {
    // With several engines the pool is the retry (failover to the next one at once); one engine
    // alone gets the client's own retries with backoff for connection errors and 5xx.
    const maxRetries = options.urls.length > 1 ? 0 : 2;
    this.endpoints = options.urls.map(
      (url) => new Endpoint(url, new OpenAI({ baseURL: url, apiKey: options.apiKey ?? 'none', maxRetries, timeout: 600_000 })),
    );
    this.metrics = poolMetrics(options.registry);
  }

  /** Runs the first health check of every engine (each bounded), then keeps polling. */
  async start(): Promise<void> {
    await Promise.all(this.endpoints.map((e) => this.check(e)));
    this.timer = setInterval(() => {
      for (const e of this.endpoints) void this.check(e);
    }, this.options.healthMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Every model the engines that are up list (first engine's entry wins). */
  models(): RemoteModel[] {
    const seen = new Map<string, RemoteModel>();
    for (const e of this.endpoints) if (e.up) for (const m of e.models) if (!seen.has(m.id)) seen.set(m.id, m);
    return [...seen.values()];
  }

  /**
   * The order to try engines in for a request: those up that list the model, least-loaded first
   * (ties rotate), then those up that do not list it, then those down (a health check may be stale).
   */
  order(model: string | undefined): Endpoint[] {
    const start = this.turn++ % Math.max(1, this.endpoints.length);
    const rotated = [...this.endpoints.slice(start), ...this.endpoints.slice(0, start)];
    const rank = (e: Endpoint): number => (e.up ? (model === undefined || e.serves(model) ? 0 : 1) : 2);
    // Array.prototype.sort is stable: equal rank and load keep the rotated order.
    return rotated.sort((a, b) => rank(a) - rank(b) || a.inFlight - b.inFlight);
  }

  /** Counts a request at an engine until the returned release is called. */
  hold(e: Endpoint): () => void {
    e.inFlight++;
    this.metrics?.inFlight.set({ url: e.url, task: this.options.task }, e.inFlight);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      e.inFlight--;
      this.metrics?.inFlight.set({ url: e.url, task: this.options.task }, e.inFlight);
    };
  }

  /** A request failed at this engine: count it, and for a reason that means "gone", take it out until it answers again. */
  failed(e: Endpoint, reason: 'unreachable' | 'stalled' | 'status' | 'malformed' | 'gone', detail: string): void {
    this.metrics?.failures.inc({ url: e.url, task: this.options.task, reason });
    e.lastError = detail;
    if (reason === 'unreachable' || reason === 'stalled' || reason === 'gone') this.setUp(e, false, detail);
  }

  private async check(e: Endpoint): Promise<void> {
    try {
      const page = await e.client.models.list({ timeout: Math.min(5000, this.options.healthMs), maxRetries: 0 });
      const parsed = ModelList.safeParse(page.data);
      if (!parsed.success) throw new Error(`malformed model list (${describeIssue(parsed.error)})`);
      e.models = parsed.data;
      this.setUp(e, true, null);
    } catch (err) {
      this.setUp(e, false, err instanceof Error ? err.message : String(err));
    }
  }

  private setUp(e: Endpoint, up: boolean, error: string | null): void {
    if (e.up !== up) {
      if (up) this.options.logger.info({ url: e.url, task: this.options.task, models: e.models.map((m) => m.id) }, 'inference engine is up');
      else this.options.logger.warn({ url: e.url, task: this.options.task, error }, 'inference engine is down');
    }
    e.up = up;
    if (error) e.lastError = error;
    this.metrics?.up.set({ url: e.url, task: this.options.task }, up ? 1 : 0);
  }
}
