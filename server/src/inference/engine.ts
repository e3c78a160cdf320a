/**
 * InferenceEngine: the whole surface the rest of the server uses (text generation, embeddings,
 * images). Loads models/manifest.json, creates each ONNX session once on the chosen execution
 * provider, and owns one decode loop (Scheduler) per text-generation model.
 */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { generationStopIds, loadChatTemplate, withStopIds, type ChatTemplate } from './chat-template';
import { CausalLM } from './causal-lm';
import { embedModel, runEmbeddings, type EmbedModel } from './embedder';
import { acceleratorOptions, modelOnDeviceError, resolveDevice, type ResolvedDevice } from './device';
import { InferenceError, ManifestError } from './errors';
import {
  modelFile,
  openSession,
  readManifest,
  verifyGraph,
  type ImageGenerationEntry,
  type Manifest,
  type ModelEntry,
  type ModelTask,
  type TextGenerationEntry,
} from './manifest';
import { InferenceMetrics, type MetricsSink } from './metrics';
import { healTrailingSpace } from './output';
import { encodePngRgb } from './png';
import { tokenClasses } from './token-classes';
import { Rng } from './sampling';
import { Scheduler } from './scheduler';
import { bindSignal, chooseModel, prepareGenerate, type GenerationSink, type GenerationSpec } from './request';
import { GenerationStream } from './stream';
import { TextTokenizer } from './tokenizer';

import { consoleLogger, type EngineOptions, type GenerateRequest, type ImageRequest, type Inference, type ModelInfo } from './api';
export type { Device, EngineLogger, EngineOptions, GenerateRequest, ImageRequest, Inference, ModelInfo } from './api';

interface TextModel {
  entry: TextGenerationEntry;
  /** null for a base model. */
  chat: ChatTemplate | null;
  session: ort.InferenceSession;
  lm: CausalLM;
  tokenizer: TextTokenizer;
  scheduler: Scheduler;
}
interface ImageModel {
  entry: ImageGenerationEntry;
  session: ort.InferenceSession;
}

const MAX_IMAGE_SIZE = 1024;

export class InferenceEngine implements Inference {
  private closed = false;
  /** Embedding/image runs in progress (close() waits for them before releasing sessions). */
  private readonly inFlight = new Set<Promise<unknown>>();

  private constructor(
    readonly manifest: Manifest,
    /** The execution provider actually in use. */
    readonly device: ResolvedDevice,
    private readonly text: Map<string, TextModel>,
    private readonly embedders: Map<string, EmbedModel>,
    private readonly images: Map<string, ImageModel>,
    private readonly metrics: MetricsSink,
  ) {}

  static async load(options: EngineOptions): Promise<InferenceEngine> {
    const logger = options.logger ?? consoleLogger;
    const requested = options.device ?? 'auto';
    const manifest = readManifest(options.modelsDir, { textModel: options.textModel, textDtype: options.textDtype, embedModel: options.embedModel });
    const metrics: MetricsSink = options.metricsSink ?? new InferenceMetrics(options.metrics);
    const base: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      // Spinning intra-op threads burn the cores the server (and, here, other work) needs; on the
      // shared 2-core host they made a batch-1 decode step ~4× slower (bench notes in the report).
      extra: { session: { intra_op: { allow_spinning: options.spinning ? '1' : '0' } } },
    };
    if (options.threads) base.intraOpNumThreads = options.threads;

    // Device choice (device.ts): probed once, logged once with its reason.
    let device: ResolvedDevice = (await resolveDevice(requested, logger)).device;
    const sessions: ort.InferenceSession[] = [];
    const open = async (entry: ModelEntry): Promise<ort.InferenceSession> => {
      if (device !== 'cpu') {
        try {
          const s = await ort.InferenceSession.create(modelFile(manifest, entry, 'model'), { ...base, ...acceleratorOptions(device, entry, options.deviceKV ?? true) });
          sessions.push(s);
          return s;
        } catch (err) {
          const why = (err as Error).message;
          if (requested !== 'auto') throw modelOnDeviceError(device, entry.id, why, err);
          logger.warn({ err: why }, `ENSEMBLE_DEVICE=auto: model "${entry.id}" cannot run on ${device}, falling back to CPU`);
          device = 'cpu';
        }
      }
      const s = await openSession(manifest, entry, { ...base, executionProviders: ['cpu'] });
      sessions.push(s);
      return s;
    };

    const text = new Map<string, TextModel>();
    const embedders = new Map<string, EmbedModel>();
    const images = new Map<string, ImageModel>();
    try {
      for (const entry of manifest.models) {
        const session = await open(entry);
        verifyGraph(manifest, entry, session);
        if (entry.task === 'text-generation') {
          const tokenizer = loadTokenizer(manifest, entry, entry.files.tokenizerConfig ? 'tokenizerConfig' : undefined);
          const folder = path.resolve(manifest.dir, entry.folder);
          const tokenizerConfig = entry.files.tokenizerConfig ? modelFile(manifest, entry, 'tokenizerConfig') : undefined;
          const chat = loadChatTemplate(folder, { modelId: entry.id, ...(tokenizerConfig ? { tokenizerConfig } : {}) });
          // The scheduler and the sampler end a turn on every id generation_config.json lists.
          const served = withStopIds(entry, generationStopIds(folder));
          const lm = new CausalLM(session, served, modelFile(manifest, entry, 'model'), { kvOnDevice: device === 'webgpu' && (options.deviceKV ?? true) });
          tokenClasses(tokenizer, lm.vocabSize); // now, not as a stall of the first constrained decode step
          if (lm.equalLengthOnly) {
            logger.warn({ model: entry.id }, `model "${entry.id}": ${lm.equalLengthOnly}: batching only equal-length prompts, and no request joins a running batch`);
          }
          const scheduler = new Scheduler(lm, tokenizer, {
            maxBatch: options.maxBatch ?? 16,
            maxQueue: options.maxQueue ?? 256,
            kvStrategy: options.kvStrategy,
            maxPerRoom: options.maxPerRoom,
            metrics,
            modelId: entry.id,
            stepDelayMs: options.stepDelayMs,
            onError: (err) => logger.warn({ err: String(err) }, `decode loop of "${entry.id}" failed`),
          });
          text.set(entry.id, { entry: served, chat, session, lm, tokenizer, scheduler });
        } else if (entry.task === 'embedding') {
          const tokenizer = loadTokenizer(manifest, entry, entry.files.tokenizerConfig ? 'tokenizerConfig' : undefined);
          embedders.set(entry.id, embedModel(entry, session, tokenizer, modelFile(manifest, entry, 'model')));
        } else {
          images.set(entry.id, { entry, session });
        }
      }
    } catch (err) {
      await Promise.allSettled(sessions.map((s) => s.release()));
      throw err;
    }
    logger.info(
      // Text models name their ONNX file: which dtype variant of a folder is serving is visible here.
      { device, models: manifest.models.map((m) => `${m.id} (${m.task}${servedAs(manifest, m)})`), modelsDir: manifest.dir },
      'inference engine loaded',
    );
    return new InferenceEngine(manifest, device, text, embedders, images, metrics);
  }

  models(): ModelInfo[] {
    return this.manifest.models.map((m): ModelInfo => {
      const base = { id: m.id, task: m.task, ...(m.description ? { description: m.description } : {}) };
      if (m.task === 'text-generation') return { ...base, contextLength: m.contextLength, vocabSize: m.vocabSize, ...(this.text.get(m.id)?.chat ? { instruct: true } : {}) };
      if (m.task === 'embedding') return { ...base, dims: m.dims, maxTokens: m.maxTokens };
      return { ...base, imageSize: m.imageSize, conditioningModel: m.conditioningModel };
    });
  }

  /**
   * Starts a generation. Throws InferenceError synchronously for problems known at once
   * ('unknown_model', 'empty_prompt', 'busy', 'aborted' for an already-aborted signal); later
   * failures reject `stream.result` and make the iterator throw.
   */
  generate(req: GenerateRequest): GenerationStream {
    this.assertOpen();
    const spec = prepareGenerate(req, this.text.keys());
    let abort = (): void => {};
    const stream = new GenerationStream(() => abort());
    abort = this.startGeneration(spec, stream);
    bindSignal(req.signal, stream);
    return stream;
  }

  /**
   * @internal Runs a validated generation (`prepareGenerate`), feeding `sink` straight from the
   * scheduler's per-request output; returns its abort. Throws 'empty_prompt' (no tokens) or 'busy'.
   * The worker thread calls this with a sink that posts to the port.
   */
  startGeneration(spec: GenerationSpec, sink: GenerationSink): () => void {
    this.assertOpen();
    const model = this.pick(this.text, spec.model, 'text-generation');
    // A chat prompt ends with the template's assistant header, not with text to heal.
    const { prompt, healedSpace } = spec.messages ? { prompt: spec.prompt, healedSpace: '' } : healTrailingSpace(spec.prompt);
    const promptIds = spec.messages ? this.chatPromptIds(model, spec.messages) : model.tokenizer.encode(prompt);
    if (promptIds.filter((t) => !model.tokenizer.specialIds.has(t)).length === 0) {
      throw new InferenceError('empty_prompt', 'the prompt has no tokens');
    }
    const started = performance.now();
    const observe = (): void =>
      this.metrics.latency.observe({ task: 'text-generation', model: model.entry.id }, (performance.now() - started) / 1000);
    const { prompt: _prompt, messages: _messages, model: _model, ...rest } = spec;
    let added: { readonly promptIds: readonly number[] } | undefined;
    const handle = model.scheduler.add({
      ...rest,
      promptIds,
      healedSpace,
      onText: (text, tokenId) => sink.push({ text, tokenId }),
      onFinish: (result) => {
        observe();
        // What the OpenAI API reports as usage.prompt_tokens: the prompt after truncation.
        sink.finish({ ...result, promptTokens: added?.promptIds.length ?? promptIds.length });
      },
      onError: (err) => {
        observe();
        sink.fail(err);
      },
    });
    added = handle;
    return () => model.scheduler.abort(handle.id);
  }

  /** The chat template's rendering, tokenized as transformers does it (the template writes its own BOS). */
  private chatPromptIds(model: TextModel, messages: NonNullable<GenerationSpec['messages']>): number[] {
    if (!model.chat) throw new InferenceError('no_chat_template', `model "${model.entry.id}" has no chat template (a base model): send a prompt, not messages`);
    let text: string;
    try {
      text = model.chat.render(messages);
    } catch (err) {
      throw new InferenceError('internal', `the chat template of "${model.entry.id}" refused the messages: ${(err as Error).message}`, { cause: err });
    }
    return model.tokenizer.encode(text, false);
  }

  /**
   * One embedding per text (a blank text gives a zero vector), batched in chunks of 32: the built-in
   * model's L2-normalised vector, or a sentence-transformers folder's pooled one (normalised when
   * its modules.json lists Normalize). The length is the model's `dims`.
   */
  async embed(texts: string[], opts: { model?: string } = {}): Promise<Float32Array[]> {
    this.assertOpen();
    const model = this.pick(this.embedders, opts.model, 'embedding');
    const started = performance.now();
    const out = await runEmbeddings(model, texts, (feeds) => this.track(model.session.run(feeds)));
    this.metrics.latency.observe({ task: 'embedding', model: model.entry.id }, (performance.now() - started) / 1000);
    this.metrics.requests.inc({ task: 'embedding', model: model.entry.id, outcome: 'ok' });
    return out;
  }

  /** Prompt → PNG bytes. Same prompt + seed + size → same bytes. */
  async generateImage(req: ImageRequest): Promise<Uint8Array> {
    this.assertOpen();
    const model = this.pick(this.images, req.model, 'image-generation');
    if (typeof req.prompt !== 'string' || req.prompt.trim() === '') throw new InferenceError('empty_prompt', 'the image prompt is empty');
    const started = performance.now();
    const { entry } = model;
    const size = Math.round(req.size ?? Math.max(128, entry.imageSize));
    if (!(size >= 1 && size <= MAX_IMAGE_SIZE)) {
      throw new InferenceError('internal', `image size must be between 1 and ${MAX_IMAGE_SIZE} pixels`);
    }
    const [cond] = await this.embed([req.prompt], { model: entry.conditioningModel });
    const rng = new Rng(Number.isFinite(req.seed) ? Math.floor(req.seed) >>> 0 : 0);
    const noise = new Float32Array(entry.noiseDims);
    for (let i = 0; i < noise.length; i++) noise[i] = rng.normal();
    const img = await this.imageTensor({ textEmbedding: cond!, noise, model: entry.id });
    const S = entry.imageSize;
    const rgb = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      const sy = Math.min(S - 1, Math.floor((y * S) / size));
      for (let x = 0; x < size; x++) {
        const sx = Math.min(S - 1, Math.floor((x * S) / size));
        const o = (y * size + x) * 3;
        for (let c = 0; c < 3; c++) {
          const v = img[(c * S + sy) * S + sx]!;
          rgb[o + c] = Math.round(Math.min(1, Math.max(0, Number.isNaN(v) ? 0 : v)) * 255);
        }
      }
    }
    const bytes = encodePngRgb(rgb, size, size);
    this.metrics.latency.observe({ task: 'image-generation', model: entry.id }, (performance.now() - started) / 1000);
    this.metrics.requests.inc({ task: 'image-generation', model: entry.id, outcome: 'ok' });
    return bytes;
  }

  /**
   * The raw image model: one conditioning embedding + one noise vector → float image
   * [3, imageSize, imageSize] in [0, 1] (what generateImage encodes; used by the fixture test).
   */
  async imageTensor(req: { textEmbedding: Float32Array; noise: Float32Array; model?: string }): Promise<Float32Array> {
    this.assertOpen();
    const { entry, session } = this.pick(this.images, req.model, 'image-generation');
    if (req.textEmbedding.length !== entry.conditioningDims || req.noise.length !== entry.noiseDims) {
      throw new InferenceError('internal', `image model "${entry.id}" needs ${entry.conditioningDims} conditioning and ${entry.noiseDims} noise values`);
    }
    let result;
    try {
      result = await this.track(
        session.run({
          text_embedding: new ort.Tensor('float32', req.textEmbedding, [1, entry.conditioningDims]),
          noise: new ort.Tensor('float32', req.noise, [1, entry.noiseDims]),
        }),
      );
    } catch (err) {
      throw new InferenceError('internal', `image model "${entry.id}" failed: ${(err as Error).message}`, { cause: err });
    }
    return (result.image as ort.Tensor).data as Float32Array;
  }

  /** The scheduler of a text model (for tests, benchmarks and introspection). */
  scheduler(model?: string): Scheduler {
    return this.pick(this.text, model, 'text-generation').scheduler;
  }

  /** The tokenizer of a text or embedding model. */
  tokenizer(model?: string): TextTokenizer {
    if (model && this.embedders.has(model)) return this.embedders.get(model)!.tokenizer;
    return this.pick(this.text, model, 'text-generation').tokenizer;
  }

  /** Aborts running generations and releases every ONNX session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.text.values()].map((m) => m.scheduler.close()));
    await Promise.allSettled([...this.inFlight]);
    await Promise.allSettled([...this.text.values()].map((m) => m.lm.close()));
    const sessions = [...this.text.values(), ...this.embedders.values(), ...this.images.values()].map((m) => m.session);
    await Promise.allSettled(sessions.map((s) => s.release()));
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const done = (): void => void this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  private assertOpen(): void {
    if (this.closed) throw new InferenceError('internal', 'the inference engine is closed');
  }

  private pick<T>(map: Map<string, T>, id: string | undefined, task: ModelTask): T {
    return map.get(chooseModel(map.keys(), id, task))!;
  }
}

/** What the load log adds to a model's id: a folder model's ONNX file (which dtype is serving) and an embedding folder's pooling. */
function servedAs(manifest: Manifest, m: ModelEntry): string {
  if (m.task === 'text-generation') return `, ${modelFile(manifest, m, 'model')}`;
  if (m.task === 'embedding' && m.pooling) return `, ${modelFile(manifest, m, 'model')}, ${m.pooling} pooling${m.normalize ? ', normalized' : ''}`;
  return '';
}

function loadTokenizer(manifest: Manifest, entry: ModelEntry, configKey: string | undefined): TextTokenizer {
  const file = modelFile(manifest, entry, 'tokenizer');
  try {
    return TextTokenizer.fromFiles(file, configKey ? modelFile(manifest, entry, configKey) : undefined);
  } catch (err) {
    throw new ManifestError(`model "${entry.id}": cannot load tokenizer ${file}: ${(err as Error).message}`, entry.id, file, { cause: err });
  }
}
