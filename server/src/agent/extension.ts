import { parseDocName, type RoomSettings } from '@ensemble/shared';
import type { Config } from '../config';
import { engineOptions } from '../inference-options';
import type { Extension, LoadedRoom, ServerContext } from '../ports';
import { WorkerInferenceEngine, type Inference } from '../inference';
import { FallbackEmbedder, RecommendationService, type Embedder } from '../recommendation';
import { l2normalize } from '../inference/embedder';
import type { Bucket } from './event-rate';
import { AgentGateway } from './gateway';
import { createLibraryLoader } from './library';
import { registerAgentMetrics } from './metrics';
import { Moderation } from './moderation';
import { AgentOwnership } from './ownership';
import { PromptBuilder, type PromptOptions } from './prompt';
import { DEFAULT_GENERATION, ProposalService, type GenerationParams } from './proposal-service';
import { RateLimiter } from './rate-limit';
import { RoomAgent } from './room-agent';
import type { AgentLimits, RoomAgentDeps } from './types';

export interface AgentOptions {
  /** The inference engine; null runs the channel with AI requests answered `ai_disabled`. */
  engine: Inference | null;
  /** Text-generation model id (default: the engine's first text-generation model). */
  model?: string;
  imageModel?: string;
  generation?: Partial<GenerationParams>;
  prompt?: Partial<PromptOptions>;
  limits?: Partial<AgentLimits>;
  /** Per-member request bucket: burst size and refill per minute. */
  rate?: { burst: number; perMinute: number };
  /** Per-member buckets for votes and for what-next / dismiss (default: ENSEMBLE_VOTE_* / ENSEMBLE_RECOMMEND_*). */
  eventRates?: { vote?: Bucket; recommend?: Bucket };
  /** Extra blocklist words (besides ENSEMBLE_BLOCKLIST and the defaults). */
  blocklist?: string[];
  /** Embedder for recommendations (default: the engine's embed, falling back to hashing). */
  embedder?: Embedder;
}

/** How often an AI owner with no member of its own checks whether other processes' members are still in the room. */
const OWNER_RECHECK_MS = 5000;

export function createAgentExtension(options: AgentOptions): AgentExtension {
  return new AgentExtension(options);
}

/**
 * The AI collaborator as a server extension: builds what every room shares (generation, prompts,
 * moderation, limits, recommendations, metrics), runs the `/collab` gateway, and keeps one
 * RoomAgent per active room, following the document registry (loaded / empty / unloaded).
 */
export class AgentExtension implements Extension {
  readonly name = 'agent';
  private gateway: AgentGateway | null = null;
  private ownership!: AgentOwnership;
  private deps!: RoomAgentDeps;
  private readonly rooms = new Map<string, RoomAgent>();
  private readonly listeners: Array<() => void> = [];
  /** Rooms whose AI owner kept its agent for members on other processes, looked at again soon. */
  private readonly rechecks = new Map<string, NodeJS.Timeout>();

  constructor(private readonly options: AgentOptions) {}

  /** Room agents (for tests and benchmarks). */
  roomAgent(roomId: string): RoomAgent | undefined {
    return this.rooms.get(roomId);
  }

  start(ctx: ServerContext): void {
    const { engine } = this.options;
    const { config } = ctx;
    const models = engine ? [...engine.models()] : [];
    const textModel = this.options.model ?? models.find((m) => m.task === 'text-generation')?.id ?? 'none';
    const imageModel = this.options.imageModel ?? models.find((m) => m.task === 'image-generation')?.id ?? 'none';
    const generation: GenerationParams = { ...DEFAULT_GENERATION, ...this.options.generation };
    if (this.options.model) generation.model = this.options.model;
    // The engine truncates over-long prompts from the left, which would cut the bible header: size
    // the prompt to the model's context (about 3 characters per token, conservatively).
    const textInfo = models.find((m) => m.id === textModel);
    const instruct = textInfo?.instruct === true;
    const replyTokens = instruct ? (generation.instructMaxTokens ?? Math.max(96, 2 * generation.maxTokens)) : generation.maxTokens;
    // An instruct prompt also carries the chat template's markup (a few dozen tokens).
    const budget = textInfo?.contextLength ? Math.max(200, (textInfo.contextLength - replyTokens - (instruct ? 48 : 0)) * 3) : 900;
    const rate = this.options.rate ?? { burst: 6, perMinute: 20 };
    // Recommendations compare by dot product: unit vectors even from a folder without a Normalize module.
    const embedder = this.options.embedder ?? new FallbackEmbedder(engine ? { embed: async (t) => (await engine.embed(t)).map(l2normalize) } : null);
    const recommendations = new RecommendationService(ctx.store.records, embedder, { maxFeedbackPerMember: config.ENSEMBLE_MAX_FEEDBACK_PER_MEMBER });
    const metrics = registerAgentMetrics(ctx.metricsRegistry);

    const ownership = (this.ownership = new AgentOwnership({
      ...(ctx.agentLeases ? { leases: ctx.agentLeases } : {}),
      ...(ctx.agentRelay ? { relay: ctx.agentRelay } : {}),
      existing: (roomId) => this.rooms.get(roomId),
      library: createLibraryLoader(ctx),
      // The dead owner's lease expires, then a renewal period passes before another takes it.
      failoverMs: 2 * config.ENSEMBLE_AGENT_LEASE_MS,
      logger: ctx.logger.child({ component: 'agent-ownership' }),
    }));
    const gateway = (this.gateway = new AgentGateway({
      ctx,
      agentFor: (roomId) => this.agentFor(roomId),
      dispatch: (agent, event, actor, req) => ownership.dispatch(agent, event, actor, req),
      metrics,
      eventRates: {
        vote: this.options.eventRates?.vote ?? { burst: config.ENSEMBLE_VOTE_BURST, perMinute: config.ENSEMBLE_VOTE_PER_MIN },
        recommend: this.options.eventRates?.recommend ?? { burst: config.ENSEMBLE_RECOMMEND_BURST, perMinute: config.ENSEMBLE_RECOMMEND_PER_MIN },
      },
      onLastSocketLeft: (roomId) => void this.leaveIfUnused(roomId),
    }));
    this.deps = {
      ctx,
      engine,
      proposals: engine ? new ProposalService(engine, generation) : null,
      recommendations,
      moderation: new Moderation([...(config.ENSEMBLE_BLOCKLIST ?? '').split(','), ...(this.options.blocklist ?? [])].filter((w) => w.trim())),
      // One budget per member across every process when they share rooms (ENSEMBLE_REDIS_URL).
      limiter: ctx.sharedBudgets?.('ai', rate.burst, rate.perMinute) ?? new RateLimiter(rate.burst, rate.perMinute),
      prompts: new PromptBuilder({ maxChars: Math.min(budget, instruct ? 8000 : 4000), afterChars: 200, instruct, ...this.options.prompt }),
      limits: { maxConcurrentPerRoom: 8, autoMinIntervalSec: 60, maxProposalsKept: 100, ...this.options.limits },
      textModel,
      imageModel,
      emit: gateway.emit,
      emitToOwners: gateway.emitToOwners,
      members: gateway.members,
      onGenerationsChanged: (d) => metrics.generationsChanged(d),
    };

    // Students' drafts (assignment mode) are documents of their own, not rooms: no agent in them.
    const isRoom = (name: string): boolean => parseDocName(name)?.draftOf === null;
    const onLoaded = (room: LoadedRoom): void => {
      if (isRoom(room.roomId)) this.agentFor(room.roomId).attach(room);
    };
    const onEmpty = (room: LoadedRoom): void => {
      if (!isRoom(room.roomId)) return;
      void gateway.socketCount(room.roomId).then(async (n) => {
        const agent = this.rooms.get(room.roomId);
        if (n === 0 && agent && !(await this.keptForOthers(agent))) agent.cancelAll();
      });
    };
    const onUnloaded = (roomId: string): void => {
      if (!isRoom(roomId)) return;
      const agent = this.rooms.get(roomId);
      if (!agent) return;
      agent.detach();
      void gateway.socketCount(roomId).then(async (n) => {
        if (n === 0 && agent.activeGenerations === 0 && !ctx.documents.peek(roomId) && !(await this.keptForOthers(agent))) this.drop(agent);
      });
    };
    const onSettings = (roomId: string, settings: RoomSettings, relayed?: boolean): void => {
      this.rooms.get(roomId)?.settingsChanged();
      if (relayed) return; // the process it happened on told every socket
      // The owner's word list is theirs: members get the settings without it.
      const { blockedWords, ...shared } = settings;
      gateway.emit(roomId, 'settings:changed', shared);
      if (blockedWords) gateway.emitToOwners(roomId, 'settings:changed', settings);
      void gateway.refreshAllowances(roomId);
    };
    ctx.documents.on('loaded', onLoaded);
    ctx.documents.on('empty', onEmpty);
    ctx.documents.on('unloaded', onUnloaded);
    ctx.rooms.on('settingsChanged', onSettings);
    this.listeners.push(
      () => ctx.documents.off('loaded', onLoaded),
      () => ctx.documents.off('empty', onEmpty),
      () => ctx.documents.off('unloaded', onUnloaded),
      () => ctx.rooms.off('settingsChanged', onSettings),
    );
  }

  async stop(): Promise<void> {
    for (const off of this.listeners.splice(0)) off();
    for (const timer of this.rechecks.values()) clearTimeout(timer);
    this.rechecks.clear();
    for (const agent of [...this.rooms.values()]) this.drop(agent);
    this.gateway?.close();
    this.gateway = null;
  }

  private agentFor(roomId: string): RoomAgent {
    let agent = this.rooms.get(roomId);
    if (!agent) {
      agent = new RoomAgent(roomId, this.deps);
      this.rooms.set(roomId, agent);
      // With several processes, one of them runs the room's AI: this one competes for it.
      this.ownership.join(agent);
    }
    return agent;
  }

  /** This process's last member of the room left: stop its generations, and drop the agent once the document is gone too. */
  private async leaveIfUnused(roomId: string): Promise<void> {
    const { ctx } = this.deps;
    if (!this.gateway || (await this.gateway.socketCount(roomId)) > 0) return;
    const loaded = ctx.documents.peek(roomId);
    if (loaded && loaded.connectionCount > 0) return;
    const a = this.rooms.get(roomId);
    if (!a || (await this.keptForOthers(a))) return;
    a.cancelAll();
    if (!ctx.documents.peek(roomId)) this.drop(a);
  }

  /**
   * Several processes: while members on other processes are in the room, its AI owner keeps its
   * agent (their proposals live in its memory) even with no member of its own, and looks again
   * later. Always false with one process.
   */
  private async keptForOthers(agent: RoomAgent): Promise<boolean> {
    if (!this.deps.ctx.agentLeases || !agent.isOwner || !this.gateway) return false;
    const members = await this.gateway.members(agent.roomId).catch(() => []);
    if (members.length === 0) return false;
    if (!this.rechecks.has(agent.roomId)) {
      const timer = setTimeout(() => {
        this.rechecks.delete(agent.roomId);
        void this.leaveIfUnused(agent.roomId);
      }, OWNER_RECHECK_MS);
      timer.unref?.();
      this.rechecks.set(agent.roomId, timer);
    }
    return true;
  }

  /** Disposes the room's agent and hands its AI lease to a process that still has the room. */
  private drop(agent: RoomAgent): void {
    agent.dispose();
    if (this.rooms.get(agent.roomId) !== agent) return;
    this.rooms.delete(agent.roomId);
    this.ownership.leave(agent.roomId);
  }
}

/** Loads the engine the collaborator runs on (main.ts: in-process on a worker thread, or remote engines). */
export type EngineLoader = (ctx: ServerContext) => Promise<Inference>;

/**
 * The AI collaborator as the server runs it: loads the engine when the server starts (so its
 * metrics land on the server's registry), then runs the agent on it. By default the models load on
 * a worker thread, so forward passes never stall the event loop that carries everyone's typing.
 * With ENSEMBLE_DISABLE_AI the channel still runs and answers every AI request `ai_disabled`.
 */
export function createAiCollaborator(config: Config, loadEngine: EngineLoader = workerEngine(config)): Extension & { engine(): Inference | null } {
  let engine: Inference | null = null;
  let agent: AgentExtension | null = null;
  return {
    name: 'ai-collaborator',
    /** The loaded engine (null before start, after stop, or with AI disabled): the /v1 API shares it. */
    engine: () => engine,
    async start(ctx: ServerContext) {
      if (!config.ENSEMBLE_DISABLE_AI) engine = await loadEngine(ctx);
      agent = createAgentExtension({ engine });
      await agent.start(ctx);
    },
    async stop() {
      await agent?.stop?.();
      await engine?.close();
      engine = null;
    },
  };
}

/** The built-in or configured models, in this process on a worker thread. */
export function workerEngine(config: Config): EngineLoader {
  return (ctx) => WorkerInferenceEngine.load({ ...engineOptions(config), logger: ctx.logger, metrics: ctx.metricsRegistry });
}
