/**
 * The batch runner: runs the forward passes a scheduling plan asks for and samples each row's
 * next token. It owns the batch KV cache, the two buffer pools and the re-packing policy; the
 * scheduler never sees a tensor.
 *
 * KV cache: one batch tensor per layer and key/value, [B, heads, past, headDim], left-padded.
 * ONNX Runtime writes each step's `present.*` into a preallocated buffer (two buffer sets used
 * alternately, grown on demand), which is fed back as the next step's `past_key_values.*`
 * unchanged while membership is stable (no copy on our side; the graph's Concat is the only
 * per-step copy, and nothing is allocated per step). Only when rows join is it re-packed
 * (`packKV`): rows are gathered and the left padding trimmed to the longest row. Rows that
 * leave stay as masked "zombies" until the next join (or until they are a quarter of the batch). The
 * alternative (a cache per sequence, padded and concatenated into a batch every step) is
 * available as `kvStrategy: 'per-step'` for measurement — bench/inference-bench.ts compares them.
 *
 * On WebGPU (`lm.kvOnDevice`) the batch cache is GPU tensors: fed back as they are while membership
 * is stable, brought to the host only to re-pack (and a prefill's cache at once, since it is always
 * re-packed into the batch), and freed as soon as the next step's present replaces them.
 */
import { CausalLM, emptyKV, packKV, packedPast, type KVArray, type KVBatch, type KVRowSource } from './causal-lm';
import { InferenceError } from './errors';
import { eosIds } from './manifest';
import { Rng, sampleToken, type SamplingParams } from './sampling';

export type KVStrategy = 'repack-on-change' | 'per-step';

/** What the runner reads and writes on a sequence. */
export interface RunnerSeq {
  readonly state: 'waiting' | 'running' | 'finished';
  readonly promptIds: readonly number[];
  readonly sampling: SamplingParams;
  readonly rng: Rng;
  readonly history: ReadonlySet<number>;
  /** False while EOS must not be sampled (ignoreEos, or minTokens not reached). */
  readonly mayEnd: boolean;
  /** Masks the logits of tokens this row must not sample next (its output's constraints). */
  constrain?(logits: Float32Array): void;
  /** Tokens whose KV is in the cache. */
  kvLen: number;
  /** Sampled token not yet fed to the model. */
  nextInput: number;
  /** Row in `kvSource` (the batch cache, or a prefill's cache right after admission). */
  row: number;
  kvSource: KVBatch | null;
}

/** One forward pass's result: the token sampled for each row still running, or a failure. */
export interface RunOutput<S> {
  sampled: Array<{ seq: S; token: number }>;
  failed?: { rows: S[]; error: InferenceError };
  /** Live rows in a decode pass (for the batch-size metric); undefined for prefill. */
  batchSize?: number;
}

export class BatchRunner<S extends RunnerSeq> {
  /** Number of KV cache re-packs (membership changes) so far. */
  repacks = 0;
  private readonly padId: number;
  private readonly banned: number[];
  private readonly bannedNoEos: number[];
  /** Rows of `kv`, in order (finished rows may stay as zombies). */
  private batch: S[] = [];
  private kv: KVBatch | null = null;
  /**
   * Two reusable buffer sets (2 × numLayers ArrayBuffers each) that the batch cache alternates
   * between: step t reads its past from one and ONNX Runtime writes the present into the other.
   * They grow on demand (×1.5) and are dropped when the loop goes idle.
   */
  private pools: ArrayBuffer[][] = [[], []];

  constructor(
    private readonly lm: CausalLM,
    private readonly kvStrategy: KVStrategy = 'repack-on-change',
  ) {
    const entry = lm.entry;
    const eos = eosIds(entry);
    this.padId = entry.padTokenId ?? eos[0] ?? 0;
    // Never sample padding or BOS (when they differ from EOS).
    this.banned = [entry.padTokenId, entry.bosTokenId].filter((t): t is number => t !== undefined && !eos.includes(t));
    this.bannedNoEos = [...this.banned, ...eos];
  }

  /** Forgets the batch; `dropPools` also frees the buffer pools (the loop went idle). */
  reset(dropPools = false): void {
    CausalLM.release(this.kv);
    this.batch = [];
    this.kv = null;
    if (dropPools) this.pools = [[], []];
  }

  /** One left-padded prefill pass over `group` (its own cache); samples each row's first token. */
  async prefill(group: S[]): Promise<RunOutput<S>> {
    const B = group.length;
    const T = Math.max(...group.map((s) => s.promptIds.length));
    const inputIds = new BigInt64Array(B * T).fill(BigInt(this.padId));
    const mask = new BigInt64Array(B * T);
    const pos = new BigInt64Array(B * T);
    group.forEach((s, r) => {
      const L = s.promptIds.length;
      const off = r * T + (T - L);
      for (let j = 0; j < L; j++) {
        inputIds[off + j] = BigInt(s.promptIds[j]!);
        mask[off + j] = 1n;
        pos[off + j] = BigInt(j);
      }
    });
    let out;
    try {
      out = await this.lm.forward({ rows: B, seq: T, inputIds, attentionMask: mask, positionIds: pos, past: emptyKV(this.lm.shape, B) });
    } catch (err) {
      return { sampled: [], failed: { rows: group, error: new InferenceError('internal', `prefill failed: ${(err as Error).message}`, { cause: err }) } };
    }
    try {
      await this.lm.toHost(out.present);
    } catch (err) {
      CausalLM.release(out.present);
      return { sampled: [], failed: { rows: group, error: new InferenceError('internal', `prefill KV download failed: ${(err as Error).message}`, { cause: err }) } };
    }
    const V = this.lm.vocabSize;
    const sampled: RunOutput<S>['sampled'] = [];
    group.forEach((s, r) => {
      s.kvLen = s.promptIds.length;
      s.kvSource = out.present;
      s.row = r;
      if (s.state !== 'running') return; // aborted during the forward pass
      const Tl = out.logitsSeq; // T, or 1 when the graph keeps only the last position
      const off = (r * Tl + Tl - 1) * V;
      sampled.push({ seq: s, token: this.sample(s, out.logits.subarray(off, off + V)) });
    });
    return { sampled };
  }

  /** One batched decode pass [B, 1] over the running rows of `rows` (old rows first, then new). */
  async decode(candidates: readonly S[]): Promise<RunOutput<S>> {
    const live = candidates.filter((s) => s.state === 'running' && s.kvSource !== null);
    if (live.length === 0) {
      this.reset();
      return { sampled: [] };
    }
    let rows: S[];
    try {
      rows = await this.layout(live);
    } catch (err) {
      this.reset();
      return { sampled: [], batchSize: live.length, failed: { rows: live, error: new InferenceError('internal', `KV re-pack failed: ${(err as Error).message}`, { cause: err }) } };
    }
    this.batch = rows;
    const kv = this.kv!;
    const B = rows.length;
    const P = kv.past;
    const inputIds = new BigInt64Array(B);
    const pos = new BigInt64Array(B);
    const mask = new BigInt64Array(B * (P + 1));
    rows.forEach((s, r) => {
      const zombie = s.state !== 'running';
      inputIds[r] = BigInt(zombie ? this.padId : s.nextInput);
      pos[r] = zombie ? 0n : BigInt(s.kvLen);
      mask.fill(1n, r * (P + 1) + (P - s.kvLen), (r + 1) * (P + 1));
    });
    let out;
    try {
      const { heads, headDim } = this.lm.shape;
      const input = { rows: B, seq: 1, inputIds, attentionMask: mask, positionIds: pos, past: kv };
      if (this.lm.kvOnDevice) out = await this.lm.forward(input);
      else {
        const { pool, views } = this.poolViews(kv, B * heads * (P + 1) * headDim);
        out = await this.lm.forward(input, views, pool);
      }
    } catch (err) {
      this.reset();
      return { sampled: [], batchSize: live.length, failed: { rows, error: new InferenceError('internal', `decode step failed: ${(err as Error).message}`, { cause: err }) } };
    }
    CausalLM.release(kv); // the present replaces it (device tensors only; host pools are reused)
    this.kv = out.present;
    const V = this.lm.vocabSize;
    const sampled: RunOutput<S>['sampled'] = [];
    rows.forEach((s, r) => {
      s.kvLen++;
      s.kvSource = out.present;
      if (s.state !== 'running') return; // aborted while the step ran
      sampled.push({ seq: s, token: this.sample(s, out.logits.subarray(r * V, (r + 1) * V)) });
    });
    return { sampled, batchSize: live.length };
  }

  /**
   * The rows of this decode pass. Rows that just finished may stay in the batch as masked
   * "zombies" (their outputs ignored) instead of re-packing the whole cache at once: re-packing
   * copies every row's KV (about one decode step's worth of time at B=16), a zombie costs 1/B of
   * a step. Allowed only while nobody joins, zombies are at most a quarter of the batch, and none
   * is longer than the longest live row (so the padded width never exceeds the context).
   */
  private async layout(live: S[]): Promise<S[]> {
    const kvNow = this.kv;
    const unchanged = kvNow !== null && live.every((s) => s.kvSource === kvNow);
    if (this.kvStrategy === 'per-step' || !unchanged) return this.repack(live);
    if (live.length === this.batch.length) return this.batch;
    const dead = this.batch.filter((s) => s.state !== 'running');
    const maxLive = Math.max(...live.map((s) => s.kvLen));
    if (dead.length <= Math.max(1, Math.floor(this.batch.length / 4)) && dead.every((s) => s.kvLen <= maxLive)) return this.batch;
    return this.repack(live);
  }

  private sample(s: S, logits: Float32Array): number {
    s.constrain?.(logits);
    return sampleToken(logits, s.sampling, s.rng, s.history, s.mayEnd ? this.banned : this.bannedNoEos);
  }

  /** The pool not backing `kv`, as views of `floats` floats per array (grown if needed). */
  private poolViews(kv: KVBatch | null, floats: number): { pool: number; views: KVArray[] } {
    const pool = kv?.pool === 0 ? 1 : 0;
    const n = 2 * this.lm.shape.numLayers;
    const half = this.lm.shape.kvType === 'float16';
    const size = half ? 2 : 4;
    let bufs = this.pools[pool]!;
    if (bufs.length !== n || bufs[0]!.byteLength < floats * size) {
      const bytes = Math.ceil(floats * 1.5) * size;
      bufs = Array.from({ length: n }, () => new ArrayBuffer(bytes));
      this.pools[pool] = bufs;
    }
    return { pool, views: bufs.map((b) => (half ? new Uint16Array(b, 0, floats) : new Float32Array(b, 0, floats))) };
  }

  /** Gathers `rows` into a tight batch cache (in the pool the current batch does not use). */
  private async repack(rows: S[]): Promise<S[]> {
    // Only the batch cache can be on the device (a prefill's cache is brought to the host at once).
    if (this.kv) await this.lm.toHost(this.kv);
    const sources: KVRowSource[] = rows.map((s) => ({ kv: s.kvSource!, row: s.row, len: s.kvLen }));
    const { heads, headDim } = this.lm.shape;
    const floats = rows.length * heads * packedPast(sources) * headDim;
    const { pool, views } = this.poolViews(this.kv, floats);
    this.kv = packKV(this.lm.shape, sources, views, pool);
    rows.forEach((s, i) => {
      s.kvSource = this.kv;
      s.row = i;
    });
    this.repacks++;
    return rows;
  }
}
