import * as Y from 'yjs';
import { Server, type Namespace, type Socket } from 'socket.io';
import { Counter, Gauge } from 'prom-client';
import type { z } from 'zod';
import {
  AcceptRequest,
  CLOSE_CODES,
  COLLAB_NAMESPACE,
  DismissRequest,
  ImageRequest,
  ListRequest,
  NextRequest,
  ProposalRequest,
  RegenerateRequest,
  RejectRequest,
  StopRequest,
  VoteRequest,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type RoomSettings,
  type TokenClaims,
} from '@ensemble/shared';
import type { Extension, RoomDocument, ServerContext } from '../context';
import { currentMember } from '../auth/current-member';
import { whenExpired } from '../auth/expiry-timer';
import { SocketLimiter, type SocketSlot } from '../auth/socket-limiter';
import { FallbackEmbedder, RecommendationService, type Embedder, type LibraryPassage } from '../recommendation';
import { linearizeStory } from './anchor';
import type { EngineLike } from './engine';
import { AgentError, toErrorBody } from './errors';
import { Moderation } from './moderation';
import { PromptBuilder, type PromptOptions } from './prompt';
import { DEFAULT_GENERATION, ProposalService, type GenerationParams } from './proposal-service';
import { EngineConnectionCap } from './engine-connection-cap';
import { EventRateLimits, type Bucket, type CheapEvent } from './event-rate';
import { RateLimiter } from './rate-limit';
import { RoomAgent, type Actor, type AgentLimits } from './room-agent';

export interface AgentOptions {
  /** The inference engine; null runs the channel with AI requests answered `ai_disabled`. */
  engine: EngineLike | null;
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

interface SocketData {
  /** The token's claims with the member's stored role (checked against the member row). */
  claims: TokenClaims;
  role: TokenClaims['role'];
  expiresAt: number;
  /** This socket's place under the per-member / per-address socket caps. */
  slot: SocketSlot;
}

type CollabSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type CollabNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

const channel = (roomId: string): string => `room:${roomId}`;
/** Every socket of one member, so removal can reach them all at once. */
const memberChannel = (roomId: string, memberId: string): string => `member:${roomId}:${memberId}`;

export function createAgentExtension(options: AgentOptions): AgentExtension {
  return new AgentExtension(options);
}

/**
 * The AI collaborator as a server extension: the `/collab` socket.io namespace (auth, validation,
 * acknowledgements), one RoomAgent per active room.
 */
export class AgentExtension implements Extension {
  readonly name = 'agent';
  private ctx!: ServerContext;
  private io: Server | null = null;
  private nsp!: CollabNamespace;
  private readonly rooms = new Map<string, RoomAgent>();
  private recommendations!: RecommendationService;
  private moderation!: Moderation;
  private limiter!: RateLimiter;
  private eventRates!: EventRateLimits;
  private sockets!: SocketLimiter;
  private service: ProposalService | null = null;
  private prompts!: PromptBuilder;
  private limits!: AgentLimits;
  private textModel = 'none';
  private imageModel = 'none';
  private generationsGauge: Gauge | null = null;
  private requestsCounter: Counter | null = null;
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly options: AgentOptions) {}

  /** Room agents (for tests and benchmarks). */
  roomAgent(roomId: string): RoomAgent | undefined {
    return this.rooms.get(roomId);
  }

  start(ctx: ServerContext): void {
    this.ctx = ctx;
    const { engine } = this.options;
    const models = engine ? [...engine.models()] : [];
    this.textModel = this.options.model ?? models.find((m) => m.task === 'text-generation')?.id ?? 'none';
    this.imageModel = this.options.imageModel ?? models.find((m) => m.task === 'image-generation')?.id ?? 'none';
    const generation: GenerationParams = { ...DEFAULT_GENERATION, ...this.options.generation };
    if (this.options.model) generation.model = this.options.model;
    this.service = engine ? new ProposalService(engine, generation) : null;
    // The engine truncates over-long prompts from the left, which would cut the bible header: size
    // the prompt to the model's context (about 3 characters per token, conservatively).
    const textInfo = models.find((m) => m.id === this.textModel);
    const budget = textInfo?.contextLength ? Math.max(200, (textInfo.contextLength - generation.maxTokens) * 3) : 900;
    this.prompts = new PromptBuilder({ maxChars: Math.min(budget, 4000), afterChars: 200, ...this.options.prompt });
    this.limits = { maxConcurrentPerRoom: 8, autoMinIntervalSec: 60, maxProposalsKept: 100, ...this.options.limits };
    const rate = this.options.rate ?? { burst: 6, perMinute: 20 };
    this.limiter = new RateLimiter(rate.burst, rate.perMinute);
    const { config } = ctx;
    this.eventRates = new EventRateLimits({
      vote: this.options.eventRates?.vote ?? { burst: config.ENSEMBLE_VOTE_BURST, perMinute: config.ENSEMBLE_VOTE_PER_MIN },
      recommend: this.options.eventRates?.recommend ?? { burst: config.ENSEMBLE_RECOMMEND_BURST, perMinute: config.ENSEMBLE_RECOMMEND_PER_MIN },
    });
    this.sockets = new SocketLimiter(config.ENSEMBLE_MAX_SOCKETS_PER_MEMBER, config.ENSEMBLE_MAX_SOCKETS_PER_ADDRESS);
    this.moderation = new Moderation([...(ctx.config.ENSEMBLE_BLOCKLIST ?? '').split(','), ...(this.options.blocklist ?? [])].filter((w) => w.trim()));
    const embedder = this.options.embedder ?? new FallbackEmbedder(engine ? { embed: (t) => engine.embed(t) } : null);
    this.recommendations = new RecommendationService(ctx.store, embedder, { maxFeedbackPerMember: config.ENSEMBLE_MAX_FEEDBACK_PER_MEMBER });
    this.registerMetrics();

    const engineCap = new EngineConnectionCap(config.ENSEMBLE_MAX_SOCKETS_PER_ADDRESS);
    this.io = new Server(ctx.httpServer, { serveClient: false, maxHttpBufferSize: 256 * 1024, cors: { origin: true }, allowRequest: engineCap.allowRequest });
    engineCap.track(this.io.engine);
    this.nsp = this.io.of(COLLAB_NAMESPACE) as unknown as CollabNamespace;
    this.nsp.use((socket, next) => {
      void this.authenticate(socket as CollabSocket).then(
        () => next(),
        (err: unknown) => {
          const body = toErrorBody(err);
          const e = new Error(body.message) as Error & { data?: unknown };
          e.data = body;
          next(e);
        },
      );
    });
    this.nsp.on('connection', (socket) => this.onConnection(socket as CollabSocket));

    const onLoaded = (room: RoomDocument): void => this.agentFor(room.roomId).attach(room);
    const onEmpty = (room: RoomDocument): void => {
      void this.socketCount(room.roomId).then((n) => {
        if (n === 0) this.rooms.get(room.roomId)?.cancelAll();
      });
    };
    const onUnloaded = (roomId: string): void => {
      const agent = this.rooms.get(roomId);
      if (!agent) return;
      agent.detach();
      void this.socketCount(roomId).then((n) => {
        if (n === 0 && agent.activeGenerations === 0 && !ctx.documents.peek(roomId)) {
          agent.dispose();
          if (this.rooms.get(roomId) === agent) this.rooms.delete(roomId);
        }
      });
    };
    const onSettings = (roomId: string, settings: RoomSettings) => {
      this.rooms.get(roomId)?.settingsChanged();
      this.nsp.to(channel(roomId)).emit('settings:changed', settings);
    };
    const onMemberRemoved = (roomId: string, memberId: string): void => {
      this.closeSockets(memberChannel(roomId, memberId), CLOSE_CODES.memberRemoved, 'removed from the room by its owner');
    };
    ctx.documents.on('loaded', onLoaded);
    ctx.documents.on('empty', onEmpty);
    ctx.documents.on('unloaded', onUnloaded);
    ctx.rooms.on('settingsChanged', onSettings);
    ctx.rooms.on('memberRemoved', onMemberRemoved);
    this.listeners.push(
      () => ctx.rooms.off('memberRemoved', onMemberRemoved),
      () => ctx.documents.off('loaded', onLoaded),
      () => ctx.documents.off('empty', onEmpty),
      () => ctx.documents.off('unloaded', onUnloaded),
      () => ctx.rooms.off('settingsChanged', onSettings),
    );
  }

  async stop(): Promise<void> {
    for (const off of this.listeners.splice(0)) off();
    for (const agent of this.rooms.values()) agent.dispose();
    this.rooms.clear();
    if (this.io) {
      this.nsp.disconnectSockets(true);
      // Not io.close(): that would close the shared HTTP server, which the core server owns.
      this.io.engine.close();
      this.io = null;
    }
  }

  private registerMetrics(): void {
    const registers = [this.ctx.metrics];
    try {
      this.generationsGauge = new Gauge({ name: 'ensemble_agent_generations_active', help: 'AI alternatives being generated', registers });
      this.requestsCounter = new Counter({ name: 'ensemble_agent_requests_total', help: 'AI collaborator requests by event and outcome', labelNames: ['event', 'outcome'], registers });
    } catch {
      // Already registered (a second extension instance on the same registry).
      this.generationsGauge = null;
      this.requestsCounter = null;
    }
  }

  private agentFor(roomId: string): RoomAgent {
    let agent = this.rooms.get(roomId);
    if (!agent) {
      agent = new RoomAgent(roomId, {
        ctx: this.ctx,
        engine: this.options.engine,
        proposals: this.service,
        recommendations: this.recommendations,
        moderation: this.moderation,
        limiter: this.limiter,
        prompts: this.prompts,
        limits: this.limits,
        textModel: this.textModel,
        imageModel: this.imageModel,
        emit: (room, event, ...args) => {
          (this.nsp.to(channel(room)).emit as (ev: string, ...a: unknown[]) => boolean)(event, ...args);
        },
        members: async (room) => {
          const sockets = await this.nsp.in(channel(room)).fetchSockets();
          return sockets.map((s) => ({ memberId: s.data.claims.memberId, ranking: (e) => s.emit('proposal:ranking', e) }));
        },
        onGenerationsChanged: (d) => this.generationsGauge?.inc(d),
      });
      this.rooms.set(roomId, agent);
    }
    return agent;
  }

  private async socketCount(roomId: string): Promise<number> {
    return this.nsp.adapter.rooms.get(channel(roomId))?.size ?? 0;
  }

  private async authenticate(socket: CollabSocket): Promise<void> {
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const token = auth?.token;
    if (typeof token !== 'string' || token.length === 0) throw new AgentError('forbidden', 'a room token is required: io(url, { auth: { token } })');
    let claims: TokenClaims;
    try {
      claims = await this.ctx.tokens.verify(token);
    } catch {
      throw new AgentError('forbidden', 'the room token is invalid or expired');
    }
    const room = await this.ctx.store.getRoom(claims.roomId);
    if (!room) throw new AgentError('not_found', 'room not found');
    // The member row, not the token, says who may connect: a removed member's token is dead.
    const member = await currentMember(this.ctx.store, claims);
    if (!member) throw new AgentError('forbidden', 'not a member of this room (removed by the owner?)');
    const taken = this.sockets.acquire(`${member.roomId}:${member.memberId}`, socket.handshake.address || 'unknown');
    if ('refused' in taken) throw new AgentError('rate_limited', taken.refused);
    // 'disconnect' is not emitted for a socket whose connection dropped before it was added.
    socket.conn.once('close', taken.slot);
    socket.data.claims = member;
    socket.data.role = member.role;
    socket.data.expiresAt = this.ctx.tokens.expiresAt(token);
    socket.data.slot = taken.slot;
  }

  /** Tells the sockets in `room` why (`collab:closed`), then disconnects them for good. */
  private closeSockets(room: string, code: number, reason: string): void {
    this.nsp.to(room).emit('collab:closed', { code, reason });
    this.nsp.in(room).disconnectSockets(true);
  }

  private onConnection(socket: CollabSocket): void {
    const { claims } = socket.data;
    const roomId = claims.roomId;
    void socket.join([channel(roomId), memberChannel(roomId, claims.memberId)]);
    const cancelExpiry = whenExpired(socket.data.expiresAt, () => {
      socket.emit('collab:closed', { code: CLOSE_CODES.tokenExpired, reason: 'token expired' });
      socket.disconnect(true);
    });
    // A removal between the handshake's member check and joining the member channel missed this socket.
    void currentMember(this.ctx.store, claims).then(
      (member) => {
        if (member) return;
        socket.emit('collab:closed', { code: CLOSE_CODES.memberRemoved, reason: 'removed from the room by its owner' });
        socket.disconnect(true);
      },
      () => undefined,
    );
    const actor = (): Actor => ({ memberId: claims.memberId, displayName: claims.displayName, role: socket.data.role });
    const agent = (): RoomAgent => this.agentFor(roomId);

    this.handle(socket, 'proposal:request', ProposalRequest, async (req) => ({ proposal: await agent().request(actor(), req) }));
    const limited = (event: CheapEvent): void => {
      // Viewers are refused before they spend tokens: they only read.
      if (event !== 'recommend:next' && socket.data.role === 'viewer') return;
      this.eventRates.take(event, roomId, claims.memberId);
    };
    this.handle(socket, 'proposal:vote', VoteRequest, async (req) => {
      limited('proposal:vote');
      return { tally: await agent().vote(actor(), req.proposalId, req.alternative, req.value) };
    });
    this.handle(socket, 'proposal:accept', AcceptRequest, async (req) => {
      await agent().accept(actor(), req.proposalId, req.alternative);
      return {};
    });
    this.handle(socket, 'proposal:reject', RejectRequest, async (req) => {
      await agent().reject(actor(), req.proposalId, req.alternative);
      return {};
    });
    this.handle(socket, 'proposal:stop', StopRequest, async (req) => {
      agent().stop(actor(), req.proposalId);
      return {};
    });
    this.handle(socket, 'proposal:regenerate', RegenerateRequest, async (req) => ({ proposal: await agent().regenerate(actor(), req.proposalId, req.alternatives) }));
    this.handle(socket, 'proposal:list', ListRequest, async () => ({ proposals: await agent().snapshots(claims.memberId) }));
    this.handle(socket, 'image:request', ImageRequest, async (req) => ({ proposal: await agent().requestImages(actor(), req.panelId, req.prompt, req.count) }));
    this.handle(socket, 'image:accept', AcceptRequest, async (req) => {
      await agent().acceptImage(actor(), req.proposalId, req.alternative);
      return {};
    });
    this.handle(socket, 'recommend:next', NextRequest, async (req) => {
      limited('recommend:next');
      return { suggestions: await agent().next(actor(), req.anchor, await this.library(roomId, req.libraryTokens ?? [])) };
    });
    this.handle(socket, 'recommend:dismiss', DismissRequest, async (req) => {
      limited('recommend:dismiss');
      await agent().dismiss(actor(), req.suggestionId);
      return {};
    });

    socket.on('disconnect', () => {
      cancelExpiry();
      socket.data.slot();
      void this.socketCount(roomId).then((n) => {
        const loaded = this.ctx.documents.peek(roomId);
        if (n === 0 && (!loaded || loaded.connectionCount === 0)) {
          const a = this.rooms.get(roomId);
          a?.cancelAll();
          if (a && !loaded) {
            a.dispose();
            this.rooms.delete(roomId);
          }
        }
      });
    });
  }

  /**
   * Registers a validated handler. The last argument, when a function, is the ack; every outcome
   * is answered through it. Without an ack, failures go out as `collab:error` to that socket.
   */
  private handle<S extends z.ZodType>(
    socket: CollabSocket,
    event: keyof ClientToServerEvents,
    schema: S,
    fn: (req: z.infer<S>) => Promise<Record<string, unknown>>,
  ): void {
    (socket as unknown as { on(ev: string, l: (...args: unknown[]) => void): void }).on(event, (...args: unknown[]) => {
      const last = args[args.length - 1];
      const ack = typeof last === 'function' ? (last as (res: unknown) => void) : null;
      const payload = ack ? (args.length > 1 ? args[0] : undefined) : args[0];
      const fail = (code: Parameters<ServerToClientEvents['collab:error']>[0]['code'], message: string): void => {
        this.requestsCounter?.inc({ event, outcome: code });
        if (ack) ack({ ok: false, error: { code, message } });
        else socket.emit('collab:error', { event, code, message });
      };
      const parsed = schema.safeParse(payload ?? (event === 'proposal:list' ? {} : payload));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        fail('invalid_payload', issue ? `${issue.path.join('.') || 'payload'}: ${issue.message}` : 'invalid payload');
        return;
      }
      fn(parsed.data).then(
        (result) => {
          this.requestsCounter?.inc({ event, outcome: 'ok' });
          ack?.({ ok: true, ...result });
        },
        (err: unknown) => {
          if (!(err instanceof AgentError)) this.ctx.logger.error({ err, event, roomId: socket.data.claims.roomId }, 'collab handler failed');
          const body = toErrorBody(err);
          fail(body.code, body.message);
        },
      );
    });
  }

  /** Paragraphs of the rooms whose tokens the member presented (verified, other rooms only). */
  private async library(roomId: string, tokens: string[]): Promise<LibraryPassage[]> {
    const out: LibraryPassage[] = [];
    const seen = new Set<string>([roomId]);
    for (const token of tokens) {
      let claims: TokenClaims;
      try {
        claims = await this.ctx.tokens.verify(token);
      } catch {
        continue;
      }
      if (seen.has(claims.roomId)) continue;
      seen.add(claims.roomId);
      const room = await this.ctx.store.getRoom(claims.roomId);
      if (!room || !(await currentMember(this.ctx.store, claims))) continue; // removed members read nothing
      const loaded = this.ctx.documents.peek(claims.roomId);
      let doc = loaded?.doc;
      let temp: Y.Doc | null = null;
      if (!doc) {
        temp = new Y.Doc();
        const stored = await this.ctx.store.loadDocument(claims.roomId);
        if (stored.snapshot) Y.applyUpdate(temp, stored.snapshot);
        for (const u of stored.updates) Y.applyUpdate(temp, u.data);
        doc = temp;
      }
      for (const text of linearizeStory(doc).blocks) out.push({ roomId: room.id, roomName: room.name, text });
      temp?.destroy();
    }
    return out;
  }
}
