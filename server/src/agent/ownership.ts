import type { Logger } from 'pino';
import type { AgentCommandOutcome, AgentCommandRelay, AgentLeases, ForwardedAgentCommand } from '../ports';
import { AGENT_COMMANDS, isAgentCommand, runAgentCommand, type AgentCommandName } from './commands';
import { AgentError, toErrorBody } from './errors';
import type { LibraryLoader } from './library';
import type { RoomAgent } from './room-agent';
import type { Actor } from './types';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Who runs each room's AI when several processes serve it (ENSEMBLE_REDIS_URL): every process
 * with the room's agent competes for the room's lease; the holder's agent generates, writes and
 * shows the AI's presence, the others' stay passive. A member's command is run here when this
 * process holds the room's lease, else forwarded to the holder, whose answer is the member's ack.
 * Without leases (one process) every command runs here, as before.
 */
export class AgentOwnership {
  private readonly settled = new Map<string, Promise<void>>();

  constructor(
    private readonly options: {
      leases?: AgentLeases;
      relay?: AgentCommandRelay;
      /** The room's agent if this process has one (a forwarded command never creates it). */
      existing(roomId: string): RoomAgent | undefined;
      library: LibraryLoader;
      /** How long a command waits for the room to have an owner again (a dead owner's lease expiring). */
      failoverMs: number;
      logger: Logger;
    },
  ) {
    options.relay?.serve((command) => this.serveForwarded(command));
  }

  /** A new agent of this process: it competes for its room's lease (and runs the AI while it holds it). */
  join(agent: RoomAgent): void {
    const { leases } = this.options;
    if (!leases || this.settled.has(agent.roomId)) return;
    const first = leases.hold(agent.roomId, { gained: (token) => agent.becomeOwner(token), lost: () => agent.loseOwnership() });
    this.settled.set(agent.roomId, first.catch(() => undefined));
  }

  /** The agent was dropped: give the lease to a process that still has the room. */
  leave(roomId: string): void {
    if (!this.settled.delete(roomId)) return;
    this.options.leases?.release(roomId);
  }

  /** Runs a member's validated command on the room's AI owner, here or on another process. */
  async dispatch(agent: RoomAgent, event: AgentCommandName, actor: Actor, req: unknown): Promise<Record<string, unknown>> {
    const { leases, relay, failoverMs } = this.options;
    if (!leases || !relay) return runAgentCommand(agent, event, actor, req, this.options.library);
    // Degraded (Redis away): who runs the room's AI cannot be known, and two processes must never
    // both generate or write it: refuse at once; editing goes on.
    if (!leases.reachable()) throw new AgentError('busy', 'the AI collaborator is unavailable while this server reconnects to the others; your writing is safe');
    this.join(agent);
    await this.settled.get(agent.roomId);
    const deadline = Date.now() + failoverMs;
    for (let attempt = 0; ; attempt++) {
      if (agent.isOwner) return runAgentCommand(agent, event, actor, req, this.options.library);
      const holder = await leases.holder(agent.roomId);
      if (holder && holder !== leases.processId) {
        const outcome = await relay.send(holder, { roomId: agent.roomId, event, actor, payload: req }).catch((err: unknown) => {
          this.options.logger.warn({ err: (err as Error).message, event, roomId: agent.roomId }, 'forwarding an agent command failed');
          throw new AgentError('busy', "the server running the room's AI collaborator did not answer; try again");
        });
        if (outcome.ok) return outcome.result;
        if (!outcome.notOwner) throw new AgentError(outcome.code, outcome.message);
      }
      // No owner right now (its lease is expiring, or being taken): the lease loop takes it within a renewal period.
      if (Date.now() > deadline) throw new AgentError('busy', "the room's AI collaborator is moving to another server; try again in a few seconds");
      await sleep(Math.min(100 * 2 ** attempt, 500));
    }
  }

  private async serveForwarded(command: ForwardedAgentCommand): Promise<AgentCommandOutcome> {
    const agent = this.options.existing(command.roomId);
    if (!agent?.isOwner) return { ok: false, code: 'busy', message: "this server no longer runs the room's AI", notOwner: true };
    if (!isAgentCommand(command.event)) return { ok: false, code: 'invalid_payload', message: `unknown agent command ${command.event}` };
    // Redis is trusted like the store, but the payload is parsed again: the schemas' defaults make the request whole.
    const parsed = AGENT_COMMANDS[command.event].schema.safeParse(command.payload);
    if (!parsed.success) return { ok: false, code: 'invalid_payload', message: parsed.error.issues[0]?.message ?? 'invalid payload' };
    try {
      return { ok: true, result: await runAgentCommand(agent, command.event, command.actor, parsed.data, this.options.library) };
    } catch (err) {
      if (!(err instanceof AgentError)) this.options.logger.error({ err, event: command.event, roomId: command.roomId }, 'forwarded agent command failed');
      return { ok: false, ...toErrorBody(err) };
    }
  }
}
