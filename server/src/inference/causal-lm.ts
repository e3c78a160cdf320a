/**
 * One ONNX decoder-with-past (Hugging Face / optimum convention) and the batch KV cache layout.
 *
 * KV layout: for each layer, key and value are one Float32Array `[rows, heads, past, headDim]`
 * (the exact tensor ONNX Runtime returns as `present.*` and accepts as `past_key_values.*`), rows
 * LEFT-padded: row r's valid cache is the last `len_r` positions. Between steps that keep the same
 * rows, the `present` outputs are fed back unchanged (no copy on our side). When rows join or
 * leave, `packKV` gathers the surviving rows into a new, tighter batch (see batch-runner.ts).
 */
import * as ort from 'onnxruntime-node';
import { DeviceKVCopier, disposeTensors } from './device-kv';
import type { TextGenerationEntry } from './manifest';

export interface KVBatch {
  /** Which scheduler buffer pool the arrays view (0 or 1), or undefined for standalone arrays. */
  pool?: number;
  rows: number;
  /** Padded past length shared by every row. */
  past: number;
  /** 2 × numLayers arrays: layer i key at 2i, value at 2i + 1; each [rows, heads, past, headDim]. Empty while `onDevice`. */
  data: Float32Array[];
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
}

export function emptyKV(shape: KVShape, rows: number): KVBatch {
  return { rows, past: 0, data: Array.from({ length: 2 * shape.numLayers }, () => new Float32Array(0)) };
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
export function packKV(shape: KVShape, sources: readonly KVRowSource[], out?: Float32Array[], pool?: number): KVBatch {
  const { heads: H, headDim: D } = shape;
  const rows = sources.length;
  const past = packedPast(sources);
  const data: Float32Array[] = [];
  for (let a = 0; a < 2 * shape.numLayers; a++) {
    const dst = out?.[a] ?? new Float32Array(rows * H * past * D);
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
  /** [rows, seq, vocab] */
  logits: Float32Array;
  present: KVBatch;
}

export class CausalLM {
  readonly shape: KVShape;
  readonly vocabSize: number;
  private readonly hasPositionIds: boolean;
  private readonly hasUseCacheBranch: boolean;
  private readonly pastNames: string[];
  private readonly presentNames: string[];
  /** Whether the session returns `present.*` on the device (WebGPU, preferredOutputLocation 'gpu-buffer'). */
  readonly kvOnDevice: boolean;
  private copier: Promise<DeviceKVCopier> | null = null;

  constructor(
    readonly session: ort.InferenceSession,
    readonly entry: TextGenerationEntry,
    options: { kvOnDevice?: boolean } = {},
  ) {
    this.kvOnDevice = options.kvOnDevice ?? false;
    this.shape = { numLayers: entry.numLayers, heads: entry.numKeyValueHeads, headDim: entry.headDim };
    this.vocabSize = entry.vocabSize;
    this.hasPositionIds = session.inputNames.includes('position_ids');
    this.hasUseCacheBranch = session.inputNames.includes('use_cache_branch');
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
  async forward(input: ForwardInput, presentOut?: Float32Array[], pool?: number): Promise<ForwardOutput> {
    const { rows, seq, past } = input;
    const { heads: H, headDim: D } = this.shape;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', input.inputIds, [rows, seq]),
      attention_mask: new ort.Tensor('int64', input.attentionMask, [rows, past.past + seq]),
    };
    if (this.hasPositionIds) feeds.position_ids = new ort.Tensor('int64', input.positionIds, [rows, seq]);
    if (this.hasUseCacheBranch) feeds.use_cache_branch = new ort.Tensor('bool', [past.past > 0], [1]);
    this.pastNames.forEach((name, a) => {
      feeds[name] = past.onDevice?.[a] ?? new ort.Tensor('float32', past.data[a]!, [rows, H, past.past, D]);
    });
    const total = past.past + seq;
    let fetches: Record<string, ort.Tensor | null> | undefined;
    if (presentOut && !this.kvOnDevice) {
      fetches = { logits: null };
      this.presentNames.forEach((name, a) => {
        fetches![name] = new ort.Tensor('float32', presentOut[a]!, [rows, H, total, D]);
      });
    }
    const out = fetches ? await this.session.run(feeds, fetches) : await this.session.run(feeds);
    const logits = out.logits as ort.Tensor;
    if (this.kvOnDevice) {
      const present: KVBatch = { rows, past: total, data: [], onDevice: this.presentNames.map((name) => out[name] as ort.Tensor) };
      return { logits: logits.data as Float32Array, present };
    }
    const data = presentOut ?? this.presentNames.map((name) => (out[name] as ort.Tensor).data as Float32Array);
    const present: KVBatch = { rows, past: total, data, ...(presentOut && pool !== undefined ? { pool } : {}) };
    return { logits: logits.data as Float32Array, present };
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
