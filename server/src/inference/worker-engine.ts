/**
 * WorkerInferenceEngine: the same surface as InferenceEngine (the `Inference` interface), with the
 * models and the decode loop on a worker thread. onnxruntime-node runs each forward pass
 * synchronously on the thread that calls it, so in-process inference holds the server's event
 * loop for a whole decode step (milliseconds per step, tens with a big batch or prefill); here
 * the main thread only relays text deltas.
 *
 * The request is validated and its deadline fixed here (request.ts, the same code the in-process
 * engine runs); the worker runs the resulting spec and posts each text delta from the scheduler's
 * per-request output straight to the port, so there is one GenerationStream per generation (this
 * side's). `busy` must be thrown synchronously, so the queue limit (admission.ts, the same
 * AdmissionPolicy the scheduler uses) is checked here, counting requests beyond maxBatch
 * outstanding as queued; the worker's scheduler then runs without a queue limit of its own.
 * `scheduler()` and `tokenizer()` are not available.
 */
import { Worker } from 'node:worker_threads';
import { AdmissionPolicy } from './admission';
import { consoleLogger, type EngineOptions, type GenerateRequest, type ImageRequest, type Inference, type ModelInfo } from './api';
import { DeviceUnavailableError, InferenceError, ManifestError, type InferenceErrorCode } from './errors';
import { InferenceMetrics, replayMetric } from './metrics';
import { bindSignal, chooseModel, prepareGenerate } from './request';
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
    readonly device: 'cpu' | 'webgpu' | 'cuda',
    private readonly info: ModelInfo[],
    private readonly admission: AdmissionPolicy,
  ) {}

  static async load(options: EngineOptions): Promise<WorkerInferenceEngine> {
    const logger = options.logger ?? consoleLogger;
    const metrics = new InferenceMetrics(options.metrics);
    const data: WorkerOptions = {
      modelsDir: options.modelsDir,
      textModel: options.textModel,
      textDtype: options.textDtype,
      embedModel: options.embedModel,
      device: options.device,
      maxBatch: options.maxBatch,
      // The queue limit is enforced here on the main thread (synchronously, see generate()).
      maxQueue: Infinity,
      threads: options.threads,
      spinning: options.spinning,
      kvStrategy: options.kvStrategy,
      deviceKV: options.deviceKV,
      maxPerRoom: options.maxPerRoom,
      stepDelayMs: options.stepDelayMs,
    };
    // From TypeScript sources, a small .mjs bootstrap registers tsx inside the worker thread.
    const url = new URL(import.meta.url.endsWith('.ts') ? './worker-bootstrap.mjs' : './worker-thread.js', import.meta.url);
    const worker = new Worker(url, { workerData: data });
    let engine: WorkerInferenceEngine | undefined;
    const ready = new Promise<{ device: 'cpu' | 'webgpu' | 'cuda'; models: ModelInfo[] }>((resolve, reject) => {
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
      const limits = { maxBatch: options.maxBatch ?? 16, maxQueue: options.maxQueue ?? 256, maxPerRoom: options.maxPerRoom };
      const admission = new AdmissionPolicy(limits, (model) => metrics.requests.inc({ task: 'text-generation', model: model ?? '', outcome: 'busy' }));
      engine = new WorkerInferenceEngine(worker, device, models, admission);
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
    const spec = prepareGenerate(req, this.ids('text-generation'));
    const n = this.outstanding.get(spec.model) ?? 0;
    this.admission.checkQueue(Math.max(0, n - this.admission.maxBatch), spec.model);
    const id = this.nextId++;
    const stream = new GenerationStream(() => this.send({ t: 'abort', id }));
    this.streams.set(id, { stream, model: spec.model });
    this.outstanding.set(spec.model, n + 1);
    bindSignal(req.signal, stream);
    this.send({ t: 'generate', id, spec });
    return stream;
  }

  embed(texts: string[], opts: { model?: string } = {}): Promise<Float32Array[]> {
    this.assertOpen();
    const model = chooseModel(this.ids('embedding'), opts.model, 'embedding');
    return this.call<Float32Array[]>((id) => ({ t: 'embed', id, texts, model }));
  }

  generateImage(req: ImageRequest): Promise<Uint8Array> {
    this.assertOpen();
    const model = chooseModel(this.ids('image-generation'), req.model, 'image-generation');
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

  private ids(task: ModelInfo['task']): string[] {
    return this.info.filter((m) => m.task === task).map((m) => m.id);
  }
}
