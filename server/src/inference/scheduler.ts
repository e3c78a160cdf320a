/**
 * The scheduler (continuous batching, vLLM v1 style): it plans and admits; the batch runner
 * (batch-runner.ts) runs the passes; each request's RequestOutput (output.ts) turns its tokens
 * into text.
 *
 * Every request for one text model, from every room, shares this loop. One `step()`:
 *   1. `schedule()` admits waiting requests into free batch slots (at most `maxBatch` running),
 *      fair across rooms with per-room caps (admission.ts), and plans the pass: the admitted
 *      prompts in prefill groups of at most `prefillTokenBudget` padded tokens (longest first),
 *      then ONE decode pass over every running sequence (old rows, then the new ones);
 *   2. the runner runs each prefill group and the decode pass, sampling one token per row;
 *   3. `updateFromOutput()` applies each sampled token: EOS, the request's output (text, stop
 *      strings), the length limit, the metrics.
 *
 * Prompts longer than `contextLength - maxTokens` are truncated FROM THE LEFT (the most recent
 * text is kept; a leading BOS token is preserved). `maxTokens` is clamped to contextLength - 1.
 * Generation also ends ('length') when prompt + output reaches the context length.
 *
 * Cancellation (`abort(id)`) resolves the request at once; its row leaves at the next step
 * boundary, so a queued request is admitted in that same step. Deadlines (absolute Date.now()
 * ms) are timers that act as an abort with reason 'deadline' (while still queued, the request
 * instead fails with InferenceError 'deadline').
 */
import { AdmissionPolicy, RoomQueues, sameLength } from './admission';
import { BatchRunner, type KVStrategy, type RunOutput } from './batch-runner';
import type { CausalLM, KVBatch } from './causal-lm';
import { InferenceError } from './errors';
import { eosIds } from './manifest';
import type { MetricsSink } from './metrics';
import { Sequence, type SequenceHandle, type SequenceRequest } from './sequence';
import type { FinishReason, GenerationResult } from './stream';
import type { TextTokenizer } from './tokenizer';

export type { SequenceHandle, SequenceRequest, SequenceState } from './sequence';

/** Largest logits tensor a prefill pass may make on a graph without num_logits_to_keep. */
const PREFILL_LOGITS_BYTES = 256 * 2 ** 20;

export interface SchedulerOptions {
  maxBatch: number;
  maxQueue: number;
  /** Default 'repack-on-change'. */
  kvStrategy?: KVStrategy;
  /** Largest rows × padded-prompt-length in one prefill pass (default 2048). */
  prefillTokenBudget?: number;
  /** Most running sequences one room may hold (default maxBatch - 1, at least 1). */
  maxPerRoom?: number;
  /** Run steps automatically while there is work (default true). Tests drive `step()` by hand. */
  autoRun?: boolean;
  metrics?: MetricsSink;
  modelId?: string;
  /** Fault injection for tests (ENSEMBLE_FAULT_STEP_DELAY_MS): wait this long before each step, so a generation lasts long enough to stop or kill mid-stream. */
  stepDelayMs?: number;
  onError?: (err: unknown) => void;
}

/** What one step does: the prefill groups of the admitted requests, then one decode pass. */
export interface SchedulePlan<S = SequenceHandle> {
  /** Requests admitted this step (they leave the queue and are 'running'). */
  admitted: S[];
  /** Prefill passes: `admitted`, longest prompt first, split at `prefillTokenBudget` padded tokens. */
  prefill: S[][];
  /** Every running sequence (old rows in batch order, then the admitted ones): one decode pass. */
  decode: S[];
}

export class Scheduler {
  readonly maxBatch: number;
  readonly maxQueue: number;
  readonly maxPerRoom: number;
  readonly contextLength: number;
  private readonly policy: AdmissionPolicy;
  private readonly queues: RoomQueues<Sequence>;
  private readonly runner: BatchRunner<Sequence>;
  private readonly prefillTokenBudget: number;
  private readonly autoRun: boolean;
  private readonly eos: Set<number>;
  private readonly bosId: number | undefined;

  private nextId = 1;
  private byId = new Map<number, Sequence>();
  /** Running sequences in admission order (= their batch row order). */
  private runningSet = new Set<Sequence>();
  private stepping = false;
  private looping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private closed = false;
  /** Number of steps run so far. */
  steps = 0;

  constructor(
    private readonly lm: CausalLM,
    private readonly tokenizer: TextTokenizer,
    private readonly opts: SchedulerOptions,
  ) {
    this.policy = new AdmissionPolicy(opts, () => opts.metrics?.requests.inc({ task: 'text-generation', model: this.modelId, outcome: 'busy' }));
    this.maxBatch = this.policy.maxBatch;
    this.maxQueue = this.policy.maxQueue;
    this.maxPerRoom = this.policy.maxPerRoom;
    this.queues = new RoomQueues(this.policy);
    this.runner = new BatchRunner(lm, opts.kvStrategy);
    // A graph that returns logits for every prompt position makes a prefill of N tokens allocate
    // N × vocab floats: cap N so that stays under PREFILL_LOGITS_BYTES (a lone prompt still runs).
    const logitsCap = lm.hasLogitsToKeep || !(lm.vocabSize > 0) ? Infinity : Math.floor(PREFILL_LOGITS_BYTES / (4 * lm.vocabSize));
    this.prefillTokenBudget = Math.max(1, Math.min(opts.prefillTokenBudget ?? 2048, logitsCap));
    this.autoRun = opts.autoRun ?? true;
    const entry = lm.entry;
    this.contextLength = entry.contextLength;
    this.eos = new Set(eosIds(entry));
    this.bosId = entry.bosTokenId;
  }

  get waiting(): number {
    return this.queues.size;
  }

  get running(): number {
    return this.runningSet.size;
  }

  /** Number of KV cache re-packs (membership changes) so far. */
  get repacks(): number {
    return this.runner.repacks;
  }

  /** Queues a request; throws InferenceError 'busy' when `maxQueue` requests are already waiting. */
  add(req: SequenceRequest): SequenceHandle {
    if (this.closed) throw new InferenceError('internal', 'the inference engine is closed');
    this.policy.checkQueue(this.queues.size);
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
    this.queues.enqueue(seq);
    this.updateGauges();
    if (req.deadlineAt !== undefined) {
      seq.timer = setTimeout(() => this.cancel(seq, 'deadline'), Math.max(0, req.deadlineAt - Date.now()));
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
    this.runner.reset(true);
  }

  hasWork(): boolean {
    return this.queues.size > 0 || this.runningSet.size > 0;
  }

  /** Runs one scheduling step: plan, prefill the admitted requests, one batched decode pass. */
  async step(): Promise<void> {
    if (this.stepping) throw new InferenceError('internal', 'Scheduler.step() is already running');
    this.stepping = true;
    try {
      this.steps++;
      const plan = this.schedule();
      for (const [gi, group] of plan.prefill.entries()) {
        // ONNX Runtime's Node binding runs on the main thread: let the event loop breathe between passes.
        if (gi > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        this.updateFromOutput(await this.runner.prefill(group));
      }
      const out = await this.runner.decode(plan.decode);
      if (out.batchSize !== undefined) this.opts.metrics?.batchSize.observe({ model: this.modelId }, out.batchSize);
      this.updateFromOutput(out);
    } finally {
      this.stepping = false;
    }
  }

  /**
   * Plans one step: admits waiting requests into the free slots (admission.ts: round-robin
   * across rooms, per-room caps), groups them into prefill passes within the token budget, and
   * lists every running sequence for the decode pass. Called by `step()`; public so that tests
   * (autoRun: false) can look at a plan — the admitted requests must then be run or aborted.
   */
  schedule(): SchedulePlan<Sequence> {
    // A graph that cannot take left padding (CausalLM.equalLengthOnly): equal-length rows only, none join a running batch.
    const strict = this.lm.equalLengthOnly !== undefined;
    const free = strict && this.runningSet.size > 0 ? 0 : this.maxBatch - this.runningSet.size;
    const admitted = this.queues.admit(free, [...this.runningSet].map((s) => s.roomId), strict ? sameLength : undefined);
    for (const seq of admitted) {
      seq.state = 'running';
      seq.admittedAtStep = this.steps;
    }
    this.updateGauges();
    // Group by padded token budget, longest first so groups pad little.
    const sorted = [...admitted].sort((a, b) => b.promptIds.length - a.promptIds.length);
    const prefill: Sequence[][] = [];
    let group: Sequence[] = [];
    for (const s of sorted) {
      const width = group.length ? group[0]!.promptIds.length : s.promptIds.length;
      if (group.length && (group.length + 1) * width > this.prefillTokenBudget) {
        prefill.push(group);
        group = [];
      }
      group.push(s);
    }
    if (group.length) prefill.push(group);
    const decode = [...this.runningSet];
    for (const seq of admitted) this.runningSet.add(seq);
    return { admitted, prefill, decode: [...decode, ...admitted] };
  }

  /** Applies a pass's result: fails its rows, or advances each sequence by its sampled token. */
  updateFromOutput(out: RunOutput<Sequence>): void {
    if (out.failed) for (const seq of out.failed.rows) this.fail(seq, out.failed.error);
    for (const { seq, token } of out.sampled) if (seq.state === 'running') this.accept(seq, token);
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
      for (;;) {
        // Yield before each step: aborts, stream consumers and new requests run — and the requests
        // of a burst that started the loop all join its first step, not the next one.
        await new Promise<void>((resolve) => (this.opts.stepDelayMs ? setTimeout(resolve, this.opts.stepDelayMs) : setImmediate(resolve)));
        if (this.closed || !this.hasWork()) break;
        await this.step();
      }
    } catch (err) {
      // A bug, not a model failure (those are caught per pass): fail the running rows so their
      // callers hear about it, and start over with a clean batch; queued requests still run.
      this.opts.onError?.(err);
      const e = new InferenceError('internal', `decode loop failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      for (const seq of [...this.runningSet]) this.fail(seq, e);
      this.runner.reset();
    } finally {
      this.looping = false;
      if (!this.hasWork()) this.runner.reset(true);
      if (!this.closed && this.hasWork()) this.kick();
    }
  }

  /** Applies one sampled token. */
  private accept(seq: Sequence, token: number): void {
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
    if (seq.output.append(token)) {
      this.finish(seq, 'stop');
      return;
    }
    if (seq.generatedIds.length >= seq.maxTokens || seq.promptIds.length + seq.generatedIds.length >= this.contextLength) {
      this.finish(seq, 'length');
    }
  }

  private finish(seq: Sequence, reason: FinishReason): void {
    if (seq.state === 'finished') return;
    // A stop sequence may still complete inside the flushed text.
    if (seq.output.finish() && reason === 'length') reason = 'stop';
    this.settle(seq);
    this.opts.metrics?.requests.inc({ task: 'text-generation', model: this.modelId, outcome: reason });
    seq.req.onFinish?.({ text: seq.output.text, finishReason: reason, tokens: seq.generatedIds.length });
  }

  private fail(seq: Sequence, err: InferenceError): void {
    if (seq.state === 'finished') return;
    this.settle(seq);
    this.opts.metrics?.requests.inc({ task: 'text-generation', model: this.modelId, outcome: err.code === 'deadline' ? 'deadline' : 'error' });
    seq.req.onError?.(err);
  }

  /** Marks finished and releases the queue slot (a running row leaves at the next decode). */
  private settle(seq: Sequence): void {
    if (seq.state === 'waiting') this.queues.remove(seq);
    seq.state = 'finished';
    this.runningSet.delete(seq);
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
    m.queueDepth.set({ model: this.modelId }, this.queues.size);
    m.activeSequences.set({ model: this.modelId }, this.runningSet.size);
  }
}
