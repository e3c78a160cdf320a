import type { z } from 'zod';
import {
  AcceptRequest,
  DismissRequest,
  FlagsRequest,
  ImageRequest,
  ListRequest,
  NextRequest,
  ProposalRequest,
  RegenerateRequest,
  RejectRequest,
  RevertRequest,
  StopRequest,
  VoteRequest,
  type ClientToServerEvents,
} from '@ensemble/shared';
import type { CheapEvent } from './event-rate';
import type { LibraryLoader } from './library';
import type { RoomAgent } from './room-agent';
import type { Actor } from './types';

interface AgentCommand<S extends z.ZodType> {
  schema: S;
  /** Spends the member's AI budget: they are sent their allowance afterwards. */
  spends?: boolean;
  /** Counted against a per-member event rate, where the command arrived. */
  rate?: CheapEvent;
  run(agent: RoomAgent, actor: Actor, req: z.infer<S>, library: LibraryLoader): Promise<Record<string, unknown>>;
}

const command = <S extends z.ZodType>(c: AgentCommand<S>): AgentCommand<S> => c;

/**
 * The /collab events the room's agent answers, each with its payload schema: the gateway runs
 * them here, or, when another process runs the room's AI, forwards them there, where they run
 * the same way (agent/ownership.ts).
 */
export const AGENT_COMMANDS = {
  'proposal:request': command({ schema: ProposalRequest, spends: true, run: async (agent, actor, req) => ({ proposal: await agent.request(actor, req) }) }),
  'proposal:vote': command({ schema: VoteRequest, rate: 'proposal:vote', run: async (agent, actor, req) => ({ tally: await agent.vote(actor, req.proposalId, req.alternative, req.value) }) }),
  'proposal:accept': command({
    schema: AcceptRequest,
    run: async (agent, actor, req) => {
      await agent.accept(actor, req.proposalId, req.alternative);
      return {};
    },
  }),
  'proposal:reject': command({
    schema: RejectRequest,
    run: async (agent, actor, req) => {
      await agent.reject(actor, req.proposalId, req.alternative);
      return {};
    },
  }),
  'proposal:revert': command({ schema: RevertRequest, run: async (agent, actor, req) => ({ ...(await agent.revert(actor, req.proposalId)) }) }),
  'proposal:stop': command({
    schema: StopRequest,
    run: async (agent, actor, req) => {
      agent.stop(actor, req.proposalId);
      return {};
    },
  }),
  'proposal:regenerate': command({ schema: RegenerateRequest, spends: true, run: async (agent, actor, req) => ({ proposal: await agent.regenerate(actor, req.proposalId, req.alternatives) }) }),
  'moderation:flags': command({ schema: FlagsRequest, run: async (agent, actor) => ({ flags: agent.flagsFor(actor) }) }),
  'proposal:list': command({ schema: ListRequest, run: async (agent, actor) => ({ proposals: await agent.snapshots(actor.memberId) }) }),
  'image:request': command({ schema: ImageRequest, spends: true, run: async (agent, actor, req) => ({ proposal: await agent.requestImages(actor, req.panelId, req.prompt, req.count) }) }),
  'image:accept': command({
    schema: AcceptRequest,
    run: async (agent, actor, req) => {
      await agent.acceptImage(actor, req.proposalId, req.alternative);
      return {};
    },
  }),
  'recommend:next': command({
    schema: NextRequest,
    rate: 'recommend:next',
    run: async (agent, actor, req, library) => ({ suggestions: await agent.next(actor, req.anchor, await library(agent.roomId, req.libraryTokens ?? [])) }),
  }),
  'recommend:dismiss': command({
    schema: DismissRequest,
    rate: 'recommend:dismiss',
    run: async (agent, actor, req) => {
      await agent.dismiss(actor, req.suggestionId);
      return {};
    },
  }),
} satisfies Partial<Record<keyof ClientToServerEvents, AgentCommand<z.ZodType>>>;

export type AgentCommandName = keyof typeof AGENT_COMMANDS;
export type AgentCommandSpec = AgentCommand<z.ZodType>;

export function isAgentCommand(event: string): event is AgentCommandName {
  return Object.hasOwn(AGENT_COMMANDS, event);
}

/** Runs a validated command on the room's agent. */
export function runAgentCommand(agent: RoomAgent, event: AgentCommandName, actor: Actor, req: unknown, library: LibraryLoader): Promise<Record<string, unknown>> {
  const c = AGENT_COMMANDS[event] as AgentCommand<z.ZodType>;
  return c.run(agent, actor, req, library);
}
