/**
 * The decode loop (continuous batching, vLLM-style engine/scheduler split).
 *
 * Every request for one text model, from every room, shares this loop. One `step()`:
 *   1. admits waiting requests into free batch slots (at most `maxBatch` running), choosing rooms
 *      round-robin: the room served longest ago goes first, so a room with many queued requests
 *      cannot starve another room's single request; and one room holds at most `maxPerRoom`
 *      slots (default maxBatch - 1), so there is always a slot for another room's request;
 *   2. prefills the admitted prompts in one batched forward pass (left-padded; split only when the
 *      padded prompt tokens exceed `prefillTokenBudget`) and samples each one's first token;
 *   3. drops rows that finished, were aborted or expired, merges the new rows, and runs ONE batched
 *      decode forward pass over all running sequences (input [B, 1]).
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
 * Prompts longer than `contextLength - maxTokens` are truncated FROM THE LEFT (the most recent
 * text is kept; a leading BOS token is preserved). `maxTokens` is clamped to contextLength - 1.
 * Generation also ends ('length') when prompt + output reaches the context length.
 *
 * Cancellation (`abort(id)`) resolves the request at once; its row leaves at the next step
 * boundary, so a queued request is admitted in that same step. Deadlines are timers that act as
 * an abort with reason 'deadline' (while still queued, the request instead fails with
 * InferenceError 'deadline').
 */
import { CausalLM, emptyKV, packKV, packedPast, type KVBatch, type KVRowSource } from './causal-lm';
import { InferenceError } from './errors';
import type { MetricsSink } from './metrics';
import { Rng, sampleToken, type SamplingParams } from './sampling';
import type { FinishReason, GenerationResult } from './stream';
import { IncrementalDecoder, type TextTokenizer } from './tokenizer';

export interface SchedulerOptions {
  maxBatch: number;
  maxQueue: number;
  /** Default 'repack-on-change'. */
  kvStrategy?: 'repack-on-change' | 'per-step';
  /** Largest rows × padded-prompt-length in one prefill pass (default 2048). */
  prefillTokenBudget?: number;
  /** Most running sequences one room may hold (default maxBatch - 1, at least 1). */
  maxPerRoom?: number;
  /** Run steps automatically while there is work (default true). Tests drive `step()` by hand. */
  autoRun?: boolean;
  metrics?: MetricsSink;
  modelId?: string;
  onError?: (err: unknown) => void;
}

export interface SequenceRequest {
  /** Token ids of the prompt (may be longer than the context: it is truncated here). */
  promptIds: number[];
  roomId: string;
  maxTokens: number;
  sampling: SamplingParams;
  seed: number;
  stop: string[];
  /** Never end on EOS (EOS is not sampled): generate until maxTokens, a stop string or the context. */
  ignoreEos?: boolean;
  /** EOS is not sampled before this many tokens (Hugging Face's min_new_tokens). */
  minTokens?: number;
  /** Absolute time (Date.now() ms) after which the request is cut off. */
  deadlineAt?: number;
  onText?: (text: string, tokenId: number) => void;
  /** Every sampled token (EOS included), before its text is released. */
  onToken?: (tokenId: number) => void;
  onFinish?: (result: GenerationResult) => void;
  onError?: (err: InferenceError) => void;
}

export type SequenceState = 'waiting' | 'running' | 'finished';

export interface SequenceHandle {
  readonly id: number;
  readonly state: SequenceState;
  /** Prompt tokens after truncation. */
  readonly promptIds: readonly number[];
  readonly truncated: boolean;
  /** Step index at which the request was admitted (undefined while waiting). */
  readonly admittedAtStep: number | undefined;
  readonly generatedIds: readonly number[];
}

class Sequence implements SequenceHandle {
  state: SequenceState = 'waiting';
  admittedAtStep: number | undefined;
  generatedIds: number[] = [];
  /** Tokens whose KV is in the cache. */
  kvLen = 0;
  /** Sampled token not yet fed to the model. */
  nextInput = -1;
  /** Row in the current batch KV, or in the prefill KV right after admission. */
  row = -1;
  kvSource: KVBatch | null = null;
  text = '';
  pending = '';
  readonly rng: Rng;
  readonly decoder: IncrementalDecoder;
  readonly enqueuedAt = performance.now();
  firstTokenAt: number | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  readonly history: Set<number>;

  constructor(
    readonly id: number,
    readonly req: SequenceRequest,
    readonly promptIds: number[],
    readonly truncated: boolean,
    readonly maxTokens: number,
    tokenizer: TextTokenizer,
  ) {
    this.rng = new Rng(req.seed);
    this.decoder = new IncrementalDecoder(tokenizer, promptIds);
    this.history = new Set(promptIds);
  }
}

interface RoomQueue {
  queue: Sequence[];
  lastServed: number;
}

export class Scheduler {
  readonly maxBatch: number;
  readonly maxQueue: number;
  readonly maxPerRoom: number;
  readonly contextLength: number;
  private readonly kvStrategy: 'repack-on-change' | 'per-step';
  private readonly prefillTokenBudget: number;
  private readonly autoRun: boolean;
  private readonly eos: Set<number>;
  private readonly padId: number;
  private readonly bosId: number | undefined;
  private readonly banned: number[];
  private readonly bannedNoEos: number[];

  private nextId = 1;
  private serveCounter = 0;
  private rooms = new Map<string, RoomQueue>();
  private waitingCount = 0;
  private byId = new Map<number, Sequence>();
  /** Rows of `kv`, in order. */
  private batch: Sequence[] = [];
  private kv: KVBatch | null = null;
  /**
   * Two reusable buffer sets (2 × numLayers ArrayBuffers each) that the batch cache alternates
   * between: step t reads its past from one and ONNX Runtime writes the present into the other.
   * They grow on demand (×1.5) and are dropped when the loop goes idle.
   */
  private pools: ArrayBuffer[][] = [[], []];
  private stepping = false;
  private looping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private closed = false;
  /** Number of steps run so far. */
  steps = 0;
  /** Number of KV cache re-packs (membership changes) so far. */
  repacks = 0;

  constructor(
    private readonly lm: CausalLM,
    private readonly tokenizer: TextTokenizer,
    private readonly opts: SchedulerOptions,
  ) {
    this.maxBatch = Math.max(1, opts.maxBatch);
    this.maxQueue = Math.max(0, opts.maxQueue);
    this.maxPerRoom = Math.max(1, Math.min(this.maxBatch, opts.maxPerRoom ?? this.maxBatch - 1));
    this.kvStrategy = opts.kvStrategy ?? 'repack-on-change';
    this.prefillTokenBudget = opts.prefillTokenBudget ?? 2048;
    this.autoRun = opts.autoRun ?? true;
    const entry = lm.entry;
    this.contextLength = entry.contextLength;
    this.eos = new Set(Array.isArray(entry.eosTokenId) ? entry.eosTokenId : [entry.eosTokenId]);
    this.padId = entry.padTokenId ?? [...this.eos][0] ?? 0;
    this.bosId = entry.bosTokenId;
    // Never sample padding or BOS (when they differ from EOS).
    this.banned = [entry.padTokenId, entry.bosTokenId].filter(
      (t): t is number => t !== undefined && !this.eos.has(t),
    );
    this.bannedNoEos = [...this.banned, ...this.eos];
  }

  get waiting(): number {
    return this.waitingCount;
  }

  get running(): number {
    return this.batch.filter((s) => s.state === 'running').length;
  }

  /** Queues a request; throws InferenceError 'busy' when `maxQueue` requests are already waiting. */
  add(req: SequenceRequest): SequenceHandle {
    if (this.closed) throw new InferenceError('internal', 'the inference engine is closed');
    if (this.waitingCount >= this.maxQueue) {
      this.opts.metrics?.requests.inc({ task: 'text-generation', model: this.modelId, outcome: 'busy' });
      throw new InferenceError('busy', `the AI is busy: ${this.waitingCount} requests are already queued (ENSEMBLE_MAX_QUEUE=${this.maxQueue})`);
    }
    if (req.promptIds.length === 0) throw new InferenceError('empty_prompt', 'the prompt has no tokens');
    const asked = Number.isFinite(req.maxTokens) ? Math.floor(req.maxTokens) : 64;
    const maxTokens = Math.max(1, Math.min(asked, this.contextLength - 1));
    const limit = this.contextLength - maxTokens;
    let prompt = req.promptIds;
    let truncated = false;
    if (prompt.length > limit) {
      truncated = true;
      prompt =
        this.bosId !== undefined && prompt[0] === this.bosId && limit > 1
          ? [this.bosId, ...prompt.slice(prompt.length - (limit - 1))]
          : prompt.slice(prompt.length - limit);
    }
    const seq = new Sequence(this.nextId++, req, prompt, truncated, maxTokens, this.tokenizer);
    this.byId.set(seq.id, seq);
    let room = this.rooms.get(req.roomId);
    if (!room) {
      room = { queue: [], lastServed: 0 };
      this.rooms.set(req.roomId, room);
    }
    room.queue.push(seq);
    this.waitingCount++;
    this.updateGauges();
    if (req.deadlineAt !== undefined) {
      const ms = Math.max(0, req.deadlineAt - Date.now());
      seq.timer = setTimeout(() => this.cancel(seq, 'deadline'), ms);
      seq.timer.unref?.();
    }
    this.kick();
    return seq;
  }

  /** Cancels a request (finishReason 'aborted'); its batch slot frees at the next step boundary. */
  abort(id: number): void {
    const seq = this.byId.get(id);
    if (seq) this.cancel(seq, 'aborted');
  }

  /** Aborts everything, stops the loop and waits for a step in flight to end. */
  async close(): Promise<void> {
    this.closed = true;
    for (const seq of [...this.byId.values()]) this.cancel(seq, 'aborted');
    await this.loopDone;
    this.batch = [];
    this.kv = null;
    this.pools = [[], []];
  }

  hasWork(): boolean {
    return this.waitingCount > 0 || this.batch.some((s) => s.state === 'running');
  }

  /** Runs one scheduling step: admit + prefill, then one batched decode pass. */
  async step(): Promise<void> {
    if (this.stepping) throw new InferenceError('internal', 'Scheduler.step() is already running');
    this.stepping = true;
    try {
      this.steps++;
      const running = this.batch.filter((s) => s.state === 'running').length;
      const admitted = this.admit(this.maxBatch - running);
      if (admitted.length) await this.prefill(admitted);
      await this.decode(admitted);
    } finally {
      this.stepping = false;
    }
  }

  private get modelId(): string {
    return this.opts.modelId ?? this.lm.entry.id;
  }

  private kick(): void {
    if (!this.autoRun || this.looping || this.closed) return;
    this.looping = true;
    this.loopDone = this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (!this.closed && this.hasWork()) {
        await this.step();
        // Let aborts, new requests and stream consumers run between steps.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      // A bug, not a model failure (those are caught per pass): fail the running rows so their
      // callers hear about it, and start over with a clean batch; queued requests still run.
      this.opts.onError?.(err);
      const e = new InferenceError('internal', `decode loop failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      for (const seq of this.batch) this.fail(seq, e);
      for (const seq of [...this.byId.values()]) if (seq.state === 'running') this.fail(seq, e);
      this.batch = [];
      this.kv = null;
    } finally {
      this.looping = false;
      if (!this.hasWork()) {
        this.batch = [];
        this.kv = null;
        this.pools = [[], []];
      }
      if (!this.closed && this.hasWork()) this.kick();
    }
  }

  /**
   * Round-robin across rooms: the room served least recently goes first. A room holds at most
   * `maxPerRoom` running slots (default maxBatch - 1), so one slot is always left for a request
   * from another room even while one room keeps the batch full.
   */
  private admit(free: number): Sequence[] {
    const out: Sequence[] = [];
    const held = new Map<RoomQueue, number>();
    for (const s of this.batch) {
      const room = this.rooms.get(s.req.roomId);
      if (s.state === 'running' && room) held.set(room, (held.get(room) ?? 0) + 1);
    }
    while (out.length < free && this.waitingCount > 0) {
      let best: RoomQueue | undefined;
      for (const room of this.rooms.values()) {
        if (room.queue.length === 0 || (held.get(room) ?? 0) >= this.maxPerRoom) continue;
        if (
          !best ||
          room.lastServed < best.lastServed ||
          (room.lastServed === best.lastServed && room.queue[0]!.id < best.queue[0]!.id)
        ) {
          best = room;
        }
      }
      if (!best) break;
      const seq = best.queue.shift()!;
      best.lastServed = ++this.serveCounter;
      held.set(best, (held.get(best) ?? 0) + 1);
      this.waitingCount--;
      seq.state = 'running';
      seq.admittedAtStep = this.steps;
      out.push(seq);
    }
    if (this.rooms.size > 10_000) {
      for (const [id, room] of this.rooms) if (room.queue.length === 0) this.rooms.delete(id);
    }
    this.updateGauges();
    return out;
  }

  private async prefill(seqs: Sequence[]): Promise<void> {
    // Group by padded token budget, longest first so groups pad little.
    const sorted = [...seqs].sort((a, b) => b.promptIds.length - a.promptIds.length);
    let group: Sequence[] = [];
    const groups: Sequence[][] = [];
    for (const s of sorted) {
      const width = group.length ? group[0]!.promptIds.length : s.promptIds.length;
      if (group.length && (group.length + 1) * width > this.prefillTokenBudget) {
        groups.push(group);
        group = [];
      }
      group.push(s);
    }
    if (group.length) groups.push(group);

    for (const [gi, g] of groups.entries()) {
      // ONNX Runtime's Node binding runs on the main thread: let the event loop breathe between passes.
      if (gi > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const B = g.length;
      const T = Math.max(...g.map((s) => s.promptIds.length));
      const inputIds = new BigInt64Array(B * T).fill(BigInt(this.padId));
      const mask = new BigInt64Array(B * T);
      const pos = new BigInt64Array(B * T);
      g.forEach((s, r) => {
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
        out = await this.lm.forward({
          rows: B,
          seq: T,
          inputIds,
          attentionMask: mask,
          positionIds: pos,
          past: emptyKV(this.lm.shape, B),
        });
      } catch (err) {
        for (const s of g) this.fail(s, new InferenceError('internal', `prefill failed: ${(err as Error).message}`, { cause: err }));
        continue;
      }
      const V = this.lm.vocabSize;
      g.forEach((s, r) => {
        s.kvLen = s.promptIds.length;
        s.kvSource = out.present;
        s.row = r;
        if (s.state !== 'running') return; // aborted during the forward pass
        const off = (r * T + T - 1) * V;
        this.accept(s, out.logits.subarray(off, off + V));
      });
    }
  }

  private async decode(admitted: Sequence[]): Promise<void> {
    // Rows that continue: running sequences (old rows, then the newly prefilled ones).
    const live = [...this.batch, ...admitted].filter((s) => s.state === 'running' && s.kvSource !== null);
    if (live.length === 0) {
      this.batch = [];
      this.kv = null;
      return;
    }
    // Rows that just finished may stay in the batch as masked "zombies" (their outputs ignored)
    // instead of re-packing the whole cache at once: re-packing copies every row's KV (about one
    // decode step's worth of time at B=16), a zombie costs 1/B of a step. Allowed only while
    // nobody joins, zombies are at most a quarter of the batch, and none is longer than the
    // longest live row (so the padded width never exceeds the context).
    let rows = live;
    const kvNow = this.kv;
    const unchanged = kvNow !== null && live.every((s) => s.kvSource === kvNow);
    if (this.kvStrategy === 'per-step' || !unchanged) {
      this.repack(live);
    } else if (live.length !== this.batch.length) {
      const dead = this.batch.filter((s) => s.state !== 'running');
      const maxLive = Math.max(...live.map((s) => s.kvLen));
      if (dead.length <= Math.max(1, Math.floor(this.batch.length / 4)) && dead.every((s) => s.kvLen <= maxLive)) {
        rows = this.batch;
      } else {
        this.repack(live);
      }
    } else {
      rows = this.batch;
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
    this.opts.metrics?.batchSize.observe({ model: this.modelId }, live.length);
    let out;
    try {
      const { heads, headDim } = this.lm.shape;
      const { pool, views } = this.poolViews(kv, B * heads * (P + 1) * headDim);
      out = await this.lm.forward({ rows: B, seq: 1, inputIds, attentionMask: mask, positionIds: pos, past: kv }, views, pool);
    } catch (err) {
      for (const s of rows) this.fail(s, new InferenceError('internal', `decode step failed: ${(err as Error).message}`, { cause: err }));
      this.batch = [];
      this.kv = null;
      return;
    }
    this.kv = out.present;
    const V = this.lm.vocabSize;
    rows.forEach((s, r) => {
      s.kvLen++;
      s.kvSource = out.present;
      if (s.state !== 'running') return; // aborted while the step ran
      this.accept(s, out.logits.subarray(r * V, (r + 1) * V));
    });
  }

  /** The pool not backing `kv`, as views of `floats` floats per array (grown if needed). */
  private poolViews(kv: KVBatch | null, floats: number): { pool: number; views: Float32Array[] } {
    const pool = kv?.pool === 0 ? 1 : 0;
    const n = 2 * this.lm.shape.numLayers;
    let bufs = this.pools[pool]!;
    if (bufs.length !== n || bufs[0]!.byteLength < floats * 4) {
      const bytes = Math.ceil(floats * 1.5) * 4;
      bufs = Array.from({ length: n }, () => new ArrayBuffer(bytes));
      this.pools[pool] = bufs;
    }
    return { pool, views: bufs.map((b) => new Float32Array(b, 0, floats)) };
  }

  /** Gathers `rows` into a tight batch cache (in the pool the current batch does not use). */
  private repack(rows: Sequence[]): void {
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
  }

  /** Samples the next token from `logits` and advances the sequence's text. */
  private accept(seq: Sequence, logits: Float32Array): void {
    const token = sampleToken(logits, seq.req.sampling, seq.rng, seq.history, seq.req.ignoreEos || seq.generatedIds.length < (seq.req.minTokens ?? 0) ? this.bannedNoEos : this.banned);
    if (seq.firstTokenAt === undefined) {
      seq.firstTokenAt = performance.now();
      this.opts.metrics?.timeToFirstToken.observe({ model: this.modelId }, (seq.firstTokenAt - seq.enqueuedAt) / 1000);
    }
    seq.req.onToken?.(token);
    if (this.eos.has(token)) {
      this.finish(seq, 'stop');
      return;
    }
    seq.generatedIds.push(token);
    seq.history.add(token);
    seq.nextInput = token;
    this.opts.metrics?.generatedTokens.inc({ model: this.modelId });
    seq.pending += seq.decoder.push(token);
    if (this.releaseText(seq, token)) return;
    if (seq.generatedIds.length >= seq.maxTokens || seq.promptIds.length + seq.generatedIds.length >= this.contextLength) {
      this.finish(seq, 'length');
    }
  }

  /**
   * Emits pending text, holding back any tail that could be the start of a stop sequence.
   * Returns true when a stop sequence was found (the sequence is then finished).
   */
  private releaseText(seq: Sequence, tokenId: number): boolean {
    const stops = seq.req.stop;
    if (stops.length) {
      const cut = firstStop(seq.text, seq.pending, stops);
      if (cut >= 0) {
        this.emit(seq, seq.pending.slice(0, cut), tokenId);
        seq.pending = '';
        this.finish(seq, 'stop', false);
        return true;
      }
      let hold = 0;
      for (const stop of stops) {
        for (let k = Math.min(stop.length - 1, seq.pending.length); k > hold; k--) {
          if (seq.pending.endsWith(stop.slice(0, k))) {
            hold = k;
            break;
          }
        }
      }
      const out = seq.pending.slice(0, seq.pending.length - hold);
      seq.pending = seq.pending.slice(seq.pending.length - hold);
      this.emit(seq, out, tokenId);
      return false;
    }
    this.emit(seq, seq.pending, tokenId);
    seq.pending = '';
    return false;
  }

  private emit(seq: Sequence, text: string, tokenId: number): void {
    if (!text) return;
    seq.text += text;
    seq.req.onText?.(text, tokenId);
  }

  private finish(seq: Sequence, reason: FinishReason, flush = true): void {
    if (seq.state === 'finished') return;
    if (flush) {
      seq.pending += seq.decoder.flush();
      const last = seq.generatedIds[seq.generatedIds.length - 1] ?? -1;
      // A stop sequence may still complete inside the flushed text.
      if (seq.req.stop.length && seq.pending) {
        const cut = firstStop(seq.text, seq.pending, seq.req.stop);
        if (cut >= 0) {
          seq.pending = seq.pending.slice(0, cut);
          if (reason === 'length') reason = 'stop';
        }
      }
      this.emit(seq, seq.pending, last);
      seq.pending = '';
    }
    this.settle(seq);
    const outcome = reason;
    this.opts.metrics?.requests.inc({ task: 'text-generation', model: this.modelId, outcome });
    seq.req.onFinish?.({ text: seq.text, finishReason: reason, tokens: seq.generatedIds.length });
  }

  private fail(seq: Sequence, err: InferenceError): void {
    if (seq.state === 'finished') return;
    this.settle(seq);
    this.opts.metrics?.requests.inc({ task: 'text-generation', model: this.modelId, outcome: err.code === 'deadline' ? 'deadline' : 'error' });
    seq.req.onError?.(err);
  }

  /** Marks finished and releases the queue slot (a running row leaves at the next decode). */
  private settle(seq: Sequence): void {
    if (seq.state === 'waiting') {
      const room = this.rooms.get(seq.req.roomId);
      const i = room ? room.queue.indexOf(seq) : -1;
      if (room && i >= 0) {
        room.queue.splice(i, 1);
        this.waitingCount--;
      }
    }
    seq.state = 'finished';
    if (seq.timer) clearTimeout(seq.timer);
    this.byId.delete(seq.id);
    this.updateGauges();
  }

  private cancel(seq: Sequence, reason: 'aborted' | 'deadline'): void {
    if (seq.state === 'finished') return;
    if (seq.state === 'waiting' && reason === 'deadline') {
      const waited = Math.round(performance.now() - seq.enqueuedAt);
      this.fail(seq, new InferenceError('deadline', `the request's deadline passed after ${waited} ms in the queue, before it could start`));
      return;
    }
    this.finish(seq, reason);
  }

  private updateGauges(): void {
    const m = this.opts.metrics;
    if (!m) return;
    m.queueDepth.set({ model: this.modelId }, this.waitingCount);
    m.activeSequences.set({ model: this.modelId }, this.batch.filter((s) => s.state === 'running').length);
  }
}

/**
 * Where the first stop sequence starts in `pending` (-1: none). Whitespace before the output's
 * first visible character does not count: a prompt that ends a paragraph makes a model open with
 * "\n\n", and a stop sequence found there would end the output before it has said anything.
 */
export function firstStop(emitted: string, pending: string, stops: string[]): number {
  const from = /\S/.test(emitted) ? 0 : pending.search(/\S/) < 0 ? pending.length : pending.search(/\S/);
  let cut = -1;
  for (const stop of stops) {
    if (!stop) continue;
    const i = pending.indexOf(stop, from);
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  return cut;
}
