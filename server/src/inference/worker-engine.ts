/**
 * WorkerInferenceEngine: the same surface as InferenceEngine (the `Inference` interface), with the
 * models and the decode loop on a worker thread. onnxruntime-node runs each forward pass
 * synchronously on the thread that calls it, so in-process inference holds the server's event
 * loop for a whole decode step (milliseconds per step, tens with a big batch or prefill); here
 * the main thread only relays text deltas.
 *
 * Differences from in-process: `busy` is decided on the main thread (requests outstanding ≥
 * maxBatch + maxQueue, i.e. the same bound), so it is still thrown synchronously; `scheduler()`
 * and `tokenizer()` are not available.
 */
import { Worker } from 'node:worker_threads';
import type { EngineLogger, EngineOptions, GenerateRequest, ImageRequest, Inference, ModelInfo } from './engine';
import { DeviceUnavailableError, InferenceError, ManifestError, type InferenceErrorCode } from './errors';
import { InferenceMetrics, replayMetric } from './metrics';
import { GenerationStream } from './stream';
import type { FromWorker, SerializedError, ToWorker, WorkerOptions } from './worker-protocol';

function revive(e: SerializedError): Error {
  if (e.name === 'InferenceError') return new InferenceError((e.code ?? 'internal') as InferenceErrorCode, e.message);
  if (e.name === 'ManifestError') return new ManifestError(e.message, e.modelId, e.file);
  if (e.name === 'DeviceUnavailableError') return new DeviceUnavailableError(e.message);
  return new InferenceError('internal', e.message);
}

interface Pending {
  resolve: (v: never) => void;
  reject: (e: unknown) => void;
}

const consoleLogger: EngineLogger = {
  info: () => {},
  warn: (obj, msg) => console.warn(`[inference] ${msg ?? ''}`, obj),
};

export class WorkerInferenceEngine implements Inference {
  private nextId = 1;
  private streams = new Map<number, { stream: GenerationStream; model: string }>();
  private calls = new Map<number, Pending>();
  private outstanding = new Map<string, number>();
  private closed = false;
  private closing: Promise<void> | null = null;
  private exited = false;

  private constructor(
    private readonly worker: Worker,
    readonly device: 'cpu' | 'cuda',
    private readonly info: ModelInfo[],
    private readonly capacity: number,
  ) {}

  static async load(options: EngineOptions): Promise<WorkerInferenceEngine> {
    const logger = options.logger ?? consoleLogger;
    const metrics = new InferenceMetrics(options.metrics);
    const data: WorkerOptions = {
      modelsDir: options.modelsDir,
      device: options.device,
      maxBatch: options.maxBatch,
      // The bound is enforced here on the main thread (synchronously); the worker's queue must not
      // refuse first just because a step had not admitted the previous requests yet.
      maxQueue: (options.maxQueue ?? 256) + (options.maxBatch ?? 16),
      threads: options.threads,
      spinning: options.spinning,
      kvStrategy: options.kvStrategy,
      maxPerRoom: options.maxPerRoom,
    };
    // From TypeScript sources, a small .mjs bootstrap registers tsx inside the worker thread.
    const url = new URL(import.meta.url.endsWith('.ts') ? './worker-bootstrap.mjs' : './worker-thread.js', import.meta.url);
    const worker = new Worker(url, { workerData: data });
    let engine: WorkerInferenceEngine | undefined;
    const ready = new Promise<{ device: 'cpu' | 'cuda'; models: ModelInfo[] }>((resolve, reject) => {
      worker.on('message', (msg: FromWorker) => {
        if (msg.t === 'ready') resolve(msg);
        else if (msg.t === 'loadError') reject(revive(msg.error));
        else if (msg.t === 'log') logger[msg.level](msg.obj, msg.msg);
        else if (msg.t === 'metrics') for (const op of msg.ops) replayMetric(metrics, op);
        else engine?.onMessage(msg);
      });
      worker.on('error', (err) => {
        reject(err);
        engine?.onExit(err);
      });
      worker.on('exit', (code) => {
        reject(new InferenceError('internal', `inference worker exited (code ${code}) before loading`));
        engine?.onExit(new Error(`inference worker exited with code ${code}`));
      });
    });
    try {
      const { device, models } = await ready;
      engine = new WorkerInferenceEngine(worker, device, models, (options.maxBatch ?? 16) + (options.maxQueue ?? 256));
      return engine;
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  models(): ModelInfo[] {
    return this.info.map((m) => ({ ...m }));
  }

  generate(req: GenerateRequest): GenerationStream {
    this.assertOpen();
    const model = this.pick(req.model, 'text-generation');
    if (typeof req.prompt !== 'string' || req.prompt.trim() === '') throw new InferenceError('empty_prompt', 'the prompt is empty');
    if (req.signal?.aborted) throw new InferenceError('aborted', 'the request was aborted before it started');
    const n = this.outstanding.get(model) ?? 0;
    if (n >= this.capacity) {
      throw new InferenceError('busy', `the AI is busy: ${n} requests are running or queued (ENSEMBLE_MAX_BATCH + ENSEMBLE_MAX_QUEUE = ${this.capacity})`);
    }
    const id = this.nextId++;
    const stream = new GenerationStream(() => this.send({ t: 'abort', id }));
    this.streams.set(id, { stream, model });
    this.outstanding.set(model, n + 1);
    const { signal, deadlineMs, ...rest } = req;
    const deadlineAt = deadlineMs === undefined ? undefined : deadlineMs > 1e12 ? deadlineMs : Date.now() + deadlineMs;
    if (signal) {
      const onAbort = (): void => stream.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      const off = (): void => signal.removeEventListener('abort', onAbort);
      stream.result.then(off, off);
    }
    this.send({ t: 'generate', id, req: { ...rest, model, ...(deadlineAt !== undefined ? { deadlineAt } : {}) } });
    return stream;
  }

  embed(texts: string[], opts: { model?: string } = {}): Promise<Float32Array[]> {
    this.assertOpen();
    const model = this.pick(opts.model, 'embedding');
    return this.call<Float32Array[]>((id) => ({ t: 'embed', id, texts, model }));
  }

  generateImage(req: ImageRequest): Promise<Uint8Array> {
    this.assertOpen();
    const model = this.pick(req.model, 'image-generation');
    return this.call<Uint8Array>((id) => ({ t: 'image', id, req: { ...req, model } }));
  }

  async close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.closing = (async () => {
      if (this.exited) return;
      const done = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      this.send({ t: 'close' });
      const timer = setTimeout(() => void this.worker.terminate(), 10_000);
      await done;
      clearTimeout(timer);
    })();
    return this.closing;
  }

  private call<T>(make: (id: number) => ToWorker): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (v: never) => void, reject });
      this.send(make(id));
    });
  }

  private send(msg: ToWorker): void {
    if (!this.exited) this.worker.postMessage(msg);
  }

  private onMessage(msg: FromWorker): void {
    switch (msg.t) {
      case 'chunk':
        this.streams.get(msg.id)?.stream.push({ text: msg.text, tokenId: msg.tokenId });
        break;
      case 'done':
        this.settle(msg.id)?.finish(msg.result);
        break;
      case 'error': {
        const err = revive(msg.error);
        const stream = this.settle(msg.id);
        if (stream) stream.fail(err instanceof InferenceError ? err : new InferenceError('internal', err.message));
        const call = this.calls.get(msg.id);
        this.calls.delete(msg.id);
        call?.reject(err);
        break;
      }
      case 'embedded':
      case 'image': {
        const call = this.calls.get(msg.id);
        this.calls.delete(msg.id);
        call?.resolve((msg.t === 'embedded' ? msg.vectors : new Uint8Array(msg.png)) as never);
        break;
      }
      default:
        break;
    }
  }

  private settle(id: number): GenerationStream | undefined {
    const s = this.streams.get(id);
    if (!s) return undefined;
    this.streams.delete(id);
    this.outstanding.set(s.model, (this.outstanding.get(s.model) ?? 1) - 1);
    return s.stream;
  }

  private onExit(err: Error): void {
    this.exited = true;
    const e = new InferenceError('internal', `inference worker stopped: ${err.message}`);
    for (const id of [...this.streams.keys()]) this.settle(id)?.fail(e);
    for (const call of this.calls.values()) call.reject(e);
    this.calls.clear();
  }

  private assertOpen(): void {
    if (this.closed || this.exited) throw new InferenceError('internal', 'the inference engine is closed');
  }

  private pick(id: string | undefined, task: ModelInfo['task']): string {
    const of = this.info.filter((m) => m.task === task);
    if (id === undefined) {
      if (!of[0]) throw new InferenceError('unknown_model', `no ${task} model is loaded`);
      return of[0].id;
    }
    if (!of.some((m) => m.id === id)) {
      throw new InferenceError('unknown_model', `unknown ${task} model "${id}" (loaded: ${of.map((m) => m.id).join(', ') || 'none'})`);
    }
    return id;
  }
}
