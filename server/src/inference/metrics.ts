/** Prometheus metrics of the inference runtime (registered on the server's Registry when given). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Metric } from 'prom-client';

type Labels = Record<string, string>;

/** The metric operations the runtime performs (InferenceMetrics, or a forwarder in worker mode). */
export interface MetricsSink {
  queueDepth: { set(labels: Labels, value: number): void };
  activeSequences: { set(labels: Labels, value: number): void };
  batchSize: { observe(labels: Labels, value: number): void };
  generatedTokens: { inc(labels: Labels, value?: number): void };
  timeToFirstToken: { observe(labels: Labels, value: number): void };
  latency: { observe(labels: Labels, value: number): void };
  requests: { inc(labels: Labels, value?: number): void };
}

export type MetricName = keyof MetricsSink;
export type MetricOp = [name: MetricName, method: 'set' | 'observe' | 'inc', labels: Labels, value: number];

/** A sink that records operations for replay elsewhere (used inside the inference worker). */
export function recordingSink(record: (op: MetricOp) => void): MetricsSink {
  const names: MetricName[] = ['queueDepth', 'activeSequences', 'batchSize', 'generatedTokens', 'timeToFirstToken', 'latency', 'requests'];
  const sink: Partial<Record<MetricName, unknown>> = {};
  for (const name of names) {
    sink[name] = {
      set: (labels: Labels, value: number) => record([name, 'set', labels, value]),
      observe: (labels: Labels, value: number) => record([name, 'observe', labels, value]),
      inc: (labels: Labels, value = 1) => record([name, 'inc', labels, value]),
    };
  }
  return sink as MetricsSink;
}

/** Applies a recorded operation to a real sink. */
export function replayMetric(sink: MetricsSink, [name, method, labels, value]: MetricOp): void {
  const metric = sink[name] as unknown as Record<string, (l: Labels, v: number) => void>;
  metric[method]?.(labels, value);
}

export class InferenceMetrics implements MetricsSink {
  readonly queueDepth: Gauge<'model'>;
  readonly activeSequences: Gauge<'model'>;
  readonly batchSize: Histogram<'model'>;
  readonly generatedTokens: Counter<'model'>;
  readonly timeToFirstToken: Histogram<'model'>;
  readonly latency: Histogram<'task' | 'model'>;
  readonly requests: Counter<'task' | 'model' | 'outcome'>;

  constructor(registry: Registry = new Registry()) {
    const reuse = <T extends Metric>(name: string, make: () => T): T =>
      (registry.getSingleMetric(name) as T | undefined) ?? make();
    this.queueDepth = reuse('ensemble_inference_queue_depth', () =>
      new Gauge({ name: 'ensemble_inference_queue_depth', help: 'Generation requests waiting for a batch slot', labelNames: ['model'], registers: [registry] }),
    );
    this.activeSequences = reuse('ensemble_inference_active_sequences', () =>
      new Gauge({ name: 'ensemble_inference_active_sequences', help: 'Sequences in the decode batch', labelNames: ['model'], registers: [registry] }),
    );
    this.batchSize = reuse('ensemble_inference_batch_size', () =>
      new Histogram({ name: 'ensemble_inference_batch_size', help: 'Rows in each batched decode step', labelNames: ['model'], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [registry] }),
    );
    this.generatedTokens = reuse('ensemble_inference_generated_tokens_total', () =>
      new Counter({ name: 'ensemble_inference_generated_tokens_total', help: 'Generated tokens (rate() of this is tokens/s)', labelNames: ['model'], registers: [registry] }),
    );
    this.timeToFirstToken = reuse('ensemble_inference_time_to_first_token_seconds', () =>
      new Histogram({ name: 'ensemble_inference_time_to_first_token_seconds', help: 'From request to its first generated token (queueing + prefill)', labelNames: ['model'], buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] }),
    );
    this.latency = reuse('ensemble_inference_request_duration_seconds', () =>
      new Histogram({ name: 'ensemble_inference_request_duration_seconds', help: 'End-to-end latency per task', labelNames: ['task', 'model'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] }),
    );
    this.requests = reuse('ensemble_inference_requests_total', () =>
      new Counter({ name: 'ensemble_inference_requests_total', help: 'Inference requests by outcome (stop, length, aborted, deadline, busy, error, ok)', labelNames: ['task', 'model', 'outcome'], registers: [registry] }),
    );
  }
}
export { Registry } from 'prom-client';
