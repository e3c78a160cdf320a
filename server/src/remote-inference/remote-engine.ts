/**
 * The `Inference` the agent uses when the models run elsewhere: one or several OpenAI-compatible
 * engines per task (text, embeddings, images; the same pool when they share URLs and key), through
 * the official `openai` client. Everything an engine returns is checked (zod); the agent sees the
 * same streams, errors and metrics as with the in-process engine.
 */
import type { Registry } from 'prom-client';
import {
  InferenceError,
  InferenceMetrics,
  consoleLogger,
  type EngineLogger,
  type GenerateRequest,
  type GenerationStream,
  type ImageRequest,
  type Inference,
  type ModelInfo,
  type ModelTask,
} from '../inference';
import { EndpointPool } from './endpoint-pool';
import { MalformedResponse, callWithFailover } from './failover';
import { remoteGenerate } from './remote-generation';
import { EmbeddingResponse, ImageResponse, describeIssue, type RemoteModel } from './schemas';

export interface RemoteTask {
  urls: readonly string[];
  apiKey?: string;
  /** The model name to ask for (default: the first the engines list for the task). */
  model?: string;
}

export interface RemoteInferenceOptions {
  text: RemoteTask;
  /** Default: the text engines. */
  embed?: RemoteTask;
  image?: RemoteTask;
  /** Chat completions for the text model: true, false, or 'auto' (the engine's model list says `instruct`, else completions). */
  chat: boolean | 'auto';
  extendedSampling: boolean;
  stallMs: number;
  healthMs: number;
  logger?: EngineLogger;
  metrics?: Registry;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];

export class RemoteInference implements Inference {
  readonly device = 'remote' as const;
  private readonly pools: Record<ModelTask, EndpointPool>;
  private readonly configured: Partial<Record<ModelTask, string>>;
  private readonly metrics: InferenceMetrics | null;
  private readonly active = new Map<string, number>();

  private constructor(private readonly options: RemoteInferenceOptions) {
    const logger = options.logger ?? consoleLogger;
    const byUrls = new Map<string, EndpointPool>();
    const poolFor = (task: ModelTask, t: RemoteTask): EndpointPool => {
      const key = `${t.urls.join(',')}\n${t.apiKey ?? ''}`;
      let pool = byUrls.get(key);
      if (!pool) byUrls.set(key, (pool = new EndpointPool({ urls: t.urls, apiKey: t.apiKey, task, healthMs: options.healthMs, logger, registry: options.metrics })));
      return pool;
    };
    this.pools = {
      'text-generation': poolFor('text-generation', options.text),
      embedding: poolFor('embedding', options.embed ?? options.text),
      'image-generation': poolFor('image-generation', options.image ?? options.text),
    };
    this.configured = { 'text-generation': options.text.model, embedding: options.embed?.model, 'image-generation': options.image?.model };
    this.metrics = options.metrics ? new InferenceMetrics(options.metrics) : null;
  }

  /** Creates the client and waits for the first health check of every engine (each bounded), so models() knows what they serve. */
  static async connect(options: RemoteInferenceOptions): Promise<RemoteInference> {
    const engine = new RemoteInference(options);
    await Promise.all(engine.distinctPools().map((p) => p.start()));
    const up = engine.distinctPools().flatMap((p) => p.endpoints.filter((e) => e.up).map((e) => e.url));
    if (up.length === 0) (options.logger ?? consoleLogger).warn({ urls: options.text.urls }, 'no inference engine answers yet; AI requests fail until one does');
    return engine;
  }

  models(): ModelInfo[] {
    const infos: ModelInfo[] = [];
    for (const task of ['text-generation', 'embedding', 'image-generation'] as const) {
      const listed = this.pools[task].models().filter((m) => this.taskOf(m) === task);
      const wanted = this.configured[task];
      if (wanted && !listed.some((m) => m.id === wanted)) listed.unshift({ id: wanted });
      // The configured model first: callers take the first model of a task as its default.
      listed.sort((a, b) => Number(b.id === wanted) - Number(a.id === wanted));
      for (const m of listed) infos.push(this.info(task, m));
    }
    return infos;
  }

  generate(req: GenerateRequest): GenerationStream {
    const model = req.model ?? this.defaultModel('text-generation');
    const info = this.models().find((m) => m.id === model && m.task === 'text-generation');
    if (req.messages && info && !info.instruct) {
      throw new InferenceError('no_chat_template', `model '${model}' is served through /v1/completions (set ENSEMBLE_INFERENCE_CHAT=true for an instruct model)`);
    }
    if (!req.messages && req.prompt.length === 0) throw new InferenceError('empty_prompt', 'the prompt is empty');
    return remoteGenerate(req, model, req.messages !== undefined, {
      pool: this.pools['text-generation'],
      extendedSampling: this.options.extendedSampling,
      stallMs: this.options.stallMs,
      metrics: this.metrics,
      onActive: (m, delta) => {
        const n = (this.active.get(m) ?? 0) + delta;
        this.active.set(m, n);
        this.metrics?.activeSequences.set({ model: m }, n);
      },
    });
  }

  async embed(texts: string[], opts: { model?: string } = {}): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const model = opts.model ?? this.defaultModel('embedding');
    return this.timed('embedding', model, () =>
      callWithFailover(this.pools.embedding, model, async (e) => {
        const raw = await e.client.embeddings.create({ model, input: texts, encoding_format: 'float' });
        const parsed = EmbeddingResponse.safeParse(raw);
        if (!parsed.success) throw new MalformedResponse(`malformed embeddings (${describeIssue(parsed.error)})`);
        if (parsed.data.data.length !== texts.length) throw new MalformedResponse(`${parsed.data.data.length} embeddings for ${texts.length} inputs`);
        return [...parsed.data.data].sort((a, b) => a.index - b.index).map((d) => Float32Array.from(d.embedding));
      }),
    );
  }

  async generateImage(req: ImageRequest): Promise<Uint8Array> {
    const model = req.model ?? this.defaultModel('image-generation');
    const size = req.size ?? 128;
    return this.timed('image-generation', model, () =>
      callWithFailover(this.pools['image-generation'], model, async (e) => {
        // `seed` is Ensemble's extension (same caption + seed → same image); other engines ignore it.
        const params = { model, prompt: req.prompt, n: 1, size: `${size}x${size}`, response_format: 'b64_json', seed: req.seed };
        const raw = await e.client.images.generate(params as unknown as Parameters<typeof e.client.images.generate>[0]);
        const parsed = ImageResponse.safeParse(raw);
        if (!parsed.success) throw new MalformedResponse(`malformed image response (${describeIssue(parsed.error)})`);
        const png = Buffer.from(parsed.data.data[0]!.b64_json, 'base64');
        if (!PNG_MAGIC.every((b, i) => png[i] === b)) throw new MalformedResponse('the image is not a PNG');
        return new Uint8Array(png);
      }),
    );
  }

  /** Each engine as the last health check or request saw it. */
  status(): Record<string, unknown> {
    const endpoints = this.distinctPools().flatMap((p) => p.endpoints.map((e) => ({ url: e.url, up: e.up, inFlight: e.inFlight, models: e.models.map((m) => m.id), ...(e.up ? {} : { lastError: e.lastError }) })));
    return { remote: true, endpoints };
  }

  async close(): Promise<void> {
    for (const p of this.distinctPools()) p.close();
  }

  private distinctPools(): EndpointPool[] {
    return [...new Set(Object.values(this.pools))];
  }

  private defaultModel(task: ModelTask): string {
    const id = this.configured[task] ?? this.models().find((m) => m.task === task)?.id;
    if (!id) throw new InferenceError('unknown_model', `no ${task} model: no inference engine that serves one is up, and none is configured by name`);
    return id;
  }

  /** A listed model's task: what it says (Ensemble does), else the one it is configured for, else text. */
  private taskOf(m: RemoteModel): ModelTask {
    if (m.task) return m.task;
    for (const task of ['embedding', 'image-generation'] as const) if (this.configured[task] === m.id) return task;
    return 'text-generation';
  }

  private info(task: ModelTask, m: RemoteModel): ModelInfo {
    const urls = this.pools[task].endpoints.map((e) => e.url).join(', ');
    if (task !== 'text-generation') return { id: m.id, task, description: `remote: ${urls}` };
    const chat = this.options.chat;
    const contextLength = m.max_model_len ?? m.meta?.n_ctx_train ?? undefined;
    return { id: m.id, task, description: `remote: ${urls}`, instruct: chat === 'auto' ? m.instruct === true : chat, ...(contextLength ? { contextLength } : {}) };
  }

  private async timed<T>(task: ModelTask, model: string, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const out = await run();
      this.metrics?.requests.inc({ task, model, outcome: 'ok' });
      return out;
    } catch (err) {
      this.metrics?.requests.inc({ task, model, outcome: err instanceof InferenceError && err.code === 'busy' ? 'busy' : 'error' });
      throw err;
    } finally {
      this.metrics?.latency.observe({ task, model }, (performance.now() - started) / 1000);
    }
  }
}
