/**
 * One ONNX decoder-with-past (Hugging Face / optimum convention) and the batch KV cache layout.
 *
 * KV layout: for each layer, key and value are one typed array `[rows, heads, past, headDim]`
 * (Float32Array, or Uint16Array holding float16 for graphs with a float16 cache)
 * (the exact tensor ONNX Runtime returns as `present.*` and accepts as `past_key_values.*`), rows
 * LEFT-padded: row r's valid cache is the last `len_r` positions. Between steps that keep the same
 * rows, the `present` outputs are fed back unchanged (no copy on our side). When rows join or
 * leave, `packKV` gathers the surviving rows into a new, tighter batch (see batch-runner.ts).
 */
import * as ort from 'onnxruntime-node';
import { DeviceKVCopier, disposeTensors } from './device-kv';
import { halfToFloat32 } from './float16';
import { graphMentions } from './hf-folder';
import type { TextGenerationEntry } from './manifest';

/** One layer's key or value: float32, or float16 bits (ONNX Runtime's Node binding uses Uint16Array for float16). */
export type KVArray = Float32Array | Uint16Array;
export type KVType = 'float32' | 'float16';

export function allocKV(type: KVType | undefined, n: number): KVArray {
  return type === 'float16' ? new Uint16Array(n) : new Float32Array(n);
}

export interface KVBatch {
  /** Which scheduler buffer pool the arrays view (0 or 1), or undefined for standalone arrays. */
  pool?: number;
  rows: number;
  /** Padded past length shared by every row. */
  past: number;
  /** 2 × numLayers arrays: layer i key at 2i, value at 2i + 1; each [rows, heads, past, headDim]. Empty while `onDevice`. */
  data: KVArray[];
  /** The same arrays as GPU tensors (WebGPU `present.*` outputs), when the cache is on the device. */
  onDevice?: ort.Tensor[];
}

export interface KVRowSource {
  kv: KVBatch;
  row: number;
  /** Valid (right-aligned) cache length of that row. */
  len: number;
}

export interface KVShape {
  numLayers: number;
  heads: number;
  headDim: number;
  /** Element type of the cache (default float32). */
  kvType?: KVType;
}

export function emptyKV(shape: KVShape, rows: number): KVBatch {
  return { rows, past: 0, data: Array.from({ length: 2 * shape.numLayers }, () => allocKV(shape.kvType, 0)) };
}

/** Width of the batch `packKV` builds from these rows. */
export function packedPast(sources: readonly KVRowSource[]): number {
  let past = 0;
  for (const s of sources) past = Math.max(past, s.len);
  return past;
}

/**
 * Gathers rows (from one or more batches) into a left-padded batch of width max(len). `out`, when
 * given, receives the result (2 × numLayers arrays of exactly rows × heads × past × headDim floats,
 * not overlapping any source); otherwise new arrays are allocated.
 */
export function packKV(shape: KVShape, sources: readonly KVRowSource[], out?: KVArray[], pool?: number): KVBatch {
  const { heads: H, headDim: D } = shape;
  const rows = sources.length;
  const past = packedPast(sources);
  const data: KVArray[] = [];
  for (let a = 0; a < 2 * shape.numLayers; a++) {
    const dst = out?.[a] ?? allocKV(shape.kvType, rows * H * past * D);
    for (let r = 0; r < rows; r++) {
      const { kv, row, len } = sources[r]!;
      const src = kv.data[a]!;
      for (let h = 0; h < H; h++) {
        const to = (r * H + h) * past * D;
        if (out && past > len) dst.fill(0, to, to + (past - len) * D); // reused memory: clear the padding
        if (len === 0) continue;
        const from = ((row * H + h) * kv.past + (kv.past - len)) * D;
        dst.set(src.subarray(from, from + len * D), to + (past - len) * D);
      }
    }
    data.push(dst);
  }
  return { rows, past, data, ...(out && pool !== undefined ? { pool } : {}) };
}

export interface ForwardInput {
  rows: number;
  /** New tokens per row (T). */
  seq: number;
  inputIds: BigInt64Array; // [rows, seq]
  attentionMask: BigInt64Array; // [rows, past + seq]
  positionIds: BigInt64Array; // [rows, seq]
  past: KVBatch;
}

export interface ForwardOutput {
  /** [rows, logitsSeq, vocab]: every new position, or only the last when the graph has num_logits_to_keep. */
  logits: Float32Array;
  logitsSeq: number;
  present: KVBatch;
}

export class CausalLM {
  readonly shape: KVShape;
  readonly vocabSize: number;
  /**
   * The graph has no position_ids input: it derives positions from the past length, so a
   * left-padded row would get shifted positions. The scheduler then batches only rows of equal
   * length (admission.ts `sameLengthOnly`).
   */
  readonly positionsFromPast: boolean;
  /**
   * Why rows of different lengths must not share a pass (undefined: they may, left-padded):
   * positions from the past length, or the GroupQueryAttention contrib op (onnxruntime-genai
   * graphs), whose seqlens_k assumes right-aligned valid tokens. The scheduler then batches only
   * equal-length prompts and lets no request join a running batch.
   */
  readonly equalLengthOnly: string | undefined;
  private readonly hasUseCacheBranch: boolean;
  /** The graph returns only the last position's logits when asked (num_logits_to_keep). */
  readonly hasLogitsToKeep: boolean;
  /** Element type of each integer input, from the session's metadata ('int64' or 'int32'). */
  private readonly intTypes: Record<string, 'int64' | 'int32'>;
  private readonly pastNames: string[];
  private readonly presentNames: string[];
  /** Whether the session returns `present.*` on the device (WebGPU, preferredOutputLocation 'gpu-buffer'). */
  readonly kvOnDevice: boolean;
  private copier: Promise<DeviceKVCopier> | null = null;

  /** `modelFile`, when given, is scanned for contrib ops that rule out left padding. */
  constructor(
    readonly session: ort.InferenceSession,
    readonly entry: TextGenerationEntry,
    modelFile?: string,
    options: { kvOnDevice?: boolean } = {},
  ) {
    this.kvOnDevice = options.kvOnDevice ?? false;
    const past0 = session.inputMetadata.find((m) => m.name === 'past_key_values.0.key');
    const kvType: KVType = past0?.isTensor && past0.type === 'float16' ? 'float16' : 'float32';
    this.shape = { numLayers: entry.numLayers, heads: entry.numKeyValueHeads, headDim: entry.headDim, kvType };
    this.vocabSize = entry.vocabSize;
    this.positionsFromPast = !session.inputNames.includes('position_ids');
    this.equalLengthOnly =
      modelFile && graphMentions(modelFile, 'GroupQueryAttention')
        ? 'the graph uses the GroupQueryAttention contrib op (its seqlens_k does not allow left padding)'
        : this.positionsFromPast
          ? 'the graph has no position_ids input (positions come from the past length, so left padding would shift them)'
          : undefined;
    this.hasUseCacheBranch = session.inputNames.includes('use_cache_branch');
    this.hasLogitsToKeep = session.inputNames.includes('num_logits_to_keep');
    this.intTypes = {};
    for (const m of session.inputMetadata) {
      if (m.isTensor && (m.type === 'int32' || m.type === 'int64')) this.intTypes[m.name] = m.type;
    }
    this.pastNames = [];
    this.presentNames = [];
    for (let i = 0; i < entry.numLayers; i++) {
      for (const kv of ['key', 'value']) {
        this.pastNames.push(`past_key_values.${i}.${kv}`);
        this.presentNames.push(`present.${i}.${kv}`);
      }
    }
  }

  /**
   * One forward pass. `presentOut` (optional) are preallocated arrays of exactly
   * rows × heads × (past + seq) × headDim floats that ONNX Runtime writes the present KV into
   * (no allocation and no copy into a fresh JS buffer per step); they must not overlap the past.
   */
  async forward(input: ForwardInput, presentOut?: KVArray[], pool?: number): Promise<ForwardOutput> {
    const { rows, seq, past } = input;
    const { heads: H, headDim: D } = this.shape;
    const kvType = this.shape.kvType ?? 'float32';
    const feeds: Record<string, ort.Tensor> = {
      input_ids: this.intTensor('input_ids', input.inputIds, [rows, seq]),
      attention_mask: this.intTensor('attention_mask', input.attentionMask, [rows, past.past + seq]),
    };
    if (!this.positionsFromPast) feeds.position_ids = this.intTensor('position_ids', input.positionIds, [rows, seq]);
    // Only the last position is sampled: prefill then never materialises [rows, seq, vocab].
    if (this.hasLogitsToKeep) feeds.num_logits_to_keep = this.intTensor('num_logits_to_keep', BigInt64Array.of(1n), []);
    if (this.hasUseCacheBranch) feeds.use_cache_branch = new ort.Tensor('bool', [past.past > 0], [1]);
    this.pastNames.forEach((name, a) => {
      // An empty past is made here in the graph's type (callers may pass float32 empties).
      const data = past.past === 0 ? allocKV(kvType, 0) : past.data[a]!;
      feeds[name] = past.onDevice?.[a] ?? new ort.Tensor(kvType, data, [rows, H, past.past, D]);
    });
    const total = past.past + seq;
    let fetches: Record<string, ort.Tensor | null> | undefined;
    if (presentOut && !this.kvOnDevice) {
      fetches = { logits: null };
      this.presentNames.forEach((name, a) => {
        fetches![name] = new ort.Tensor(kvType, presentOut[a]!, [rows, H, total, D]);
      });
    }
    const out = fetches ? await this.session.run(feeds, fetches) : await this.session.run(feeds);
    const logits = out.logits as ort.Tensor;
    const values = logits.type === 'float16' ? halfToFloat32(logits.data as Uint16Array) : (logits.data as Float32Array);
    if (this.kvOnDevice) {
      const onDevice: KVBatch = { rows, past: total, data: [], onDevice: this.presentNames.map((name) => out[name] as ort.Tensor) };
      return { logits: values, logitsSeq: logits.dims[1]!, present: onDevice };
    }
    const data = presentOut ?? this.presentNames.map((name) => (out[name] as ort.Tensor).data as KVArray);
    const present: KVBatch = { rows, past: total, data, ...(presentOut && pool !== undefined ? { pool } : {}) };
    return { logits: values, logitsSeq: logits.dims[1]!, present };
  }

  private intTensor(name: string, data: BigInt64Array, dims: number[]): ort.Tensor {
    if (this.intTypes[name] === 'int32') return new ort.Tensor('int32', Int32Array.from(data, Number), dims);
    return new ort.Tensor('int64', data, dims);
  }

  /**
   * Brings a device cache to the host in place (`data` filled, GPU tensors freed), for re-packing;
   * a host cache is left as it is. Rows that point at `kv` keep pointing at it.
   */
  async toHost(kv: KVBatch): Promise<void> {
    if (!kv.onDevice) return;
    // The copy graph's element type follows the cache's (float16 KV graphs exist).
    this.copier ??= DeviceKVCopier.create(this.presentNames.length, kv.onDevice[0]?.type === 'float16' ? 'float16' : 'float32');
    const tensors = kv.onDevice;
    kv.data = await (await this.copier).toHost(tensors);
    delete kv.onDevice;
    disposeTensors(tensors);
  }

  /** Releases what this model holds besides its session (the copy graph's session). */
  async close(): Promise<void> {
    const copier = this.copier;
    this.copier = null;
    if (copier) await copier.then((c) => c.release(), () => {});
  }

  /** Frees a device cache's GPU tensors (it is not read again). */
  static release(kv: KVBatch | null | undefined): void {
    if (!kv?.onDevice) return;
    disposeTensors(kv.onDevice);
    delete kv.onDevice;
  }
}
