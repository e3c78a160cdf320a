import { Server, type Namespace, type Socket } from 'socket.io';
import type { z } from 'zod';
import {
  CLOSE_CODES,
  COLLAB_NAMESPACE,
  type ClientToServerEvents,
  type ServerToClientEvents,
  type TokenClaims,
} from '@ensemble/shared';
import type { ServerContext } from '../ports';
import { currentMember } from '../auth/current-member';
import { whenExpired } from '../auth/expiry-timer';
import { SocketLimiter, type SocketSlot } from '../auth/socket-limiter';
import { AllowanceNotifier } from './allowance';
import { AGENT_COMMANDS, type AgentCommandName, type AgentCommandSpec } from './commands';
import { EngineConnectionCap } from './engine-connection-cap';
import { AgentError, toErrorBody } from './errors';
import { EventRateLimits, type Bucket, type CheapEvent } from './event-rate';
import type { AgentMetrics } from './metrics';
import type { RoomAgent } from './room-agent';
import type { Actor, RoomAgentDeps } from './types';

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
/** The owner's sockets of a room (moderation flags go there only). */
const ownerChannel = (roomId: string): string => `owners:${roomId}`;
/** Every socket of one member, so removal can reach them all at once. */
const memberChannel = (roomId: string, memberId: string): string => `member:${roomId}:${memberId}`;

export interface GatewayDeps {
  ctx: ServerContext;
  /** The room's agent (created on first use). */
  agentFor(roomId: string): RoomAgent;
  /** Runs a member's validated agent command on the room's AI owner (this process or another: agent/ownership.ts). */
  dispatch(agent: RoomAgent, event: AgentCommandName, actor: Actor, req: unknown): Promise<Record<string, unknown>>;
  metrics: AgentMetrics;
  /** Per-member buckets for votes and for what-next / dismiss. */
  eventRates: { vote: Bucket; recommend: Bucket };
  /** The room's last socket disconnected. */
  onLastSocketLeft(roomId: string): void;
}

/**
 * The `/collab` socket.io namespace on the shared HTTP server: auth (the room token, checked
 * against the member row), per-member / per-address socket caps, per-member event rates, zod
 * validation of every payload, and every outcome answered through the ack (or `collab:error`).
 * Closes a removed member's sockets and those whose token expired (`collab:closed`).
 */
export class AgentGateway {
  private readonly io: Server;
  private readonly nsp: CollabNamespace;
  private readonly eventRates: EventRateLimits;
  private readonly sockets: SocketLimiter;
  private readonly allowance: AllowanceNotifier;
  private readonly offMemberRemoved: () => void;

  constructor(private readonly deps: GatewayDeps) {
    const { ctx } = deps;
    const { config } = ctx;
    this.eventRates = new EventRateLimits(deps.eventRates, ctx.sharedBudgets);
    this.sockets = new SocketLimiter(config.ENSEMBLE_MAX_SOCKETS_PER_MEMBER, config.ENSEMBLE_MAX_SOCKETS_PER_ADDRESS);
    this.allowance = new AllowanceNotifier({
      compute: (roomId, actor) => deps.agentFor(roomId).allowance(actor),
      send: (roomId, memberId, allowance) => this.nsp.to(memberChannel(roomId, memberId)).emit('ai:allowance', allowance),
      onError: (err) => ctx.logger.warn({ err }, 'ai allowance not sent'),
    });
    const engineCap = new EngineConnectionCap(config.ENSEMBLE_MAX_SOCKETS_PER_ADDRESS);
    this.io = new Server(ctx.httpServer, {
      serveClient: false,
      maxHttpBufferSize: 256 * 1024,
      cors: { origin: true },
      allowRequest: engineCap.allowRequest,
      // With several processes: room emits reach the members connected to the others.
      ...(ctx.collabAdapter ? { adapter: ctx.collabAdapter } : {}),
    });
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
    const onMemberRemoved = (roomId: string, memberId: string, relayed?: boolean): void => {
      if (relayed) return; // the process it happened on closed them on every process
      this.closeSockets(memberChannel(roomId, memberId), CLOSE_CODES.memberRemoved, 'removed from the room by its owner');
    };
    ctx.rooms.on('memberRemoved', onMemberRemoved);
    this.offMemberRemoved = () => ctx.rooms.off('memberRemoved', onMemberRemoved);
  }

  /** Emits to every socket of the room. */
  readonly emit: RoomAgentDeps['emit'] = (roomId, event, ...args) => {
    (this.nsp.to(channel(roomId)).emit as (ev: string, ...a: unknown[]) => boolean)(event, ...args);
  };

  /** Emits to the room's owner sockets only. */
  readonly emitToOwners: RoomAgentDeps['emitToOwners'] = (roomId, event, ...args) => {
    (this.nsp.to(ownerChannel(roomId)).emit as (ev: string, ...a: unknown[]) => boolean)(event, ...args);
  };

  /** The members connected to the room, each with a way to send that socket its ranking. */
  readonly members: RoomAgentDeps['members'] = async (roomId) => {
    const sockets = await this.nsp.in(channel(roomId)).fetchSockets();
    return sockets.map((s) => ({ memberId: s.data.claims.memberId, ranking: (e) => s.emit('proposal:ranking', e) }));
  };

  async socketCount(roomId: string): Promise<number> {
    return this.nsp.adapter.rooms.get(channel(roomId))?.size ?? 0;
  }

  /** Sends every member connected to the room their allowance again (its settings changed). */
  async refreshAllowances(roomId: string): Promise<void> {
    const sockets = await this.nsp.in(channel(roomId)).fetchSockets();
    const actors = new Map(sockets.map((s) => [s.data.claims.memberId, { memberId: s.data.claims.memberId, displayName: s.data.claims.displayName, role: s.data.role }]));
    await this.allowance.pushAll(roomId, [...actors.values()]);
  }

  close(): void {
    this.allowance.close();
    this.offMemberRemoved();
    this.nsp.disconnectSockets(true);
    // Not io.close(): that would close the shared HTTP server, which the core server owns.
    this.io.engine.close();
  }

  private async authenticate(socket: CollabSocket): Promise<void> {
    const { ctx } = this.deps;
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const token = auth?.token;
    if (typeof token !== 'string' || token.length === 0) throw new AgentError('forbidden', 'a room token is required: io(url, { auth: { token } })');
    let claims: TokenClaims;
    try {
      claims = await ctx.tokens.verify(token);
    } catch {
      throw new AgentError('forbidden', 'the room token is invalid or expired');
    }
    const room = await ctx.store.rooms.getRoom(claims.roomId);
    if (!room) throw new AgentError('not_found', 'room not found');
    // The member row, not the token, says who may connect: a removed member's token is dead.
    const member = await currentMember(ctx.store.rooms, claims);
    if (!member) throw new AgentError('forbidden', 'not a member of this room (removed by the owner?)');
    const taken = this.sockets.acquire(`${member.roomId}:${member.memberId}`, socket.handshake.address || 'unknown');
    if ('refused' in taken) throw new AgentError('rate_limited', taken.refused);
    // 'disconnect' is not emitted for a socket whose connection dropped before it was added.
    socket.conn.once('close', taken.slot);
    socket.data.claims = member;
    socket.data.role = member.role;
    socket.data.expiresAt = ctx.tokens.expiresAt(token);
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
    const joined = socket.join([channel(roomId), memberChannel(roomId, claims.memberId), ...(socket.data.role === 'owner' ? [ownerChannel(roomId)] : [])]);
    const cancelExpiry = whenExpired(socket.data.expiresAt, () => {
      socket.emit('collab:closed', { code: CLOSE_CODES.tokenExpired, reason: 'token expired' });
      socket.disconnect(true);
    });
    // A removal between the handshake's member check and joining the member channel missed this socket.
    void currentMember(this.deps.ctx.store.rooms, claims).then(
      (member) => {
        if (member) return;
        socket.emit('collab:closed', { code: CLOSE_CODES.memberRemoved, reason: 'removed from the room by its owner' });
        socket.disconnect(true);
      },
      () => undefined,
    );
    const actor = (): Actor => ({ memberId: claims.memberId, displayName: claims.displayName, role: socket.data.role });
    const agent = (): RoomAgent => this.deps.agentFor(roomId);
    void Promise.resolve(joined).then(() => this.allowance.push(roomId, actor()));
    /** Runs a request that spends the member's AI budget, then tells them what is left (either way). */
    const spending = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } finally {
        void this.allowance.push(roomId, actor());
      }
    };

    const limited = async (event: CheapEvent): Promise<void> => {
      // Viewers are refused before they spend tokens: they only read.
      if (event !== 'recommend:next' && socket.data.role === 'viewer') return;
      await this.eventRates.take(event, roomId, claims.memberId);
    };
    // Validated and rate-checked here, run wherever the room's AI runs (agent/ownership.ts).
    for (const [event, command] of Object.entries(AGENT_COMMANDS) as Array<[AgentCommandName, AgentCommandSpec]>) {
      this.handle(socket, event, command.schema, async (req) => {
        if (command.rate) await limited(command.rate);
        const run = () => this.deps.dispatch(agent(), event, actor(), req);
        return command.spends ? spending(run) : run();
      });
    }

    socket.on('disconnect', () => {
      cancelExpiry();
      socket.data.slot();
      if (!this.nsp.adapter.rooms.get(memberChannel(roomId, claims.memberId))?.size) this.allowance.forget(roomId, claims.memberId);
      void this.socketCount(roomId).then((n) => {
        if (n === 0) this.deps.onLastSocketLeft(roomId);
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
        this.deps.metrics.request(event, code);
        if (ack) ack({ ok: false, error: { code, message } });
        else socket.emit('collab:error', { event, code, message });
      };
      const parsed = schema.safeParse(payload ?? (event === 'proposal:list' || event === 'moderation:flags' ? {} : payload));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        fail('invalid_payload', issue ? `${issue.path.join('.') || 'payload'}: ${issue.message}` : 'invalid payload');
        return;
      }
      fn(parsed.data).then(
        (result) => {
          this.deps.metrics.request(event, 'ok');
          ack?.({ ok: true, ...result });
        },
        (err: unknown) => {
          if (!(err instanceof AgentError)) this.deps.ctx.logger.error({ err, event, roomId: socket.data.claims.roomId }, 'collab handler failed');
          const body = toErrorBody(err);
          fail(body.code, body.message);
        },
      );
    });
  }
}
