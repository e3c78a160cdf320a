import type * as Y from 'yjs';
import type { ImageAlternative, ProposalDone, ProposalInfo, Role, ServerToClientEvents } from '@ensemble/shared';
import type { LoadedRoom, RequestBudget, ServerContext } from '../ports';
import type { ChatMessage, Inference } from '../inference';
import type { CleanContext } from './instruct-output';
import type { RecommendationService } from '../recommendation';
import type { RoomRecord } from '../storage/store';
import type { Moderation } from './moderation';
import type { ReplacedRun } from './revert';
import type { PromptBuilder } from './prompt';
import type { ProposalService } from './proposal-service';

export interface Actor {
  memberId: string;
  displayName: string;
  role: Role;
}

export interface AgentLimits {
  /** Generations (alternatives) running at once in one room. */
  maxConcurrentPerRoom: number;
  /** Seconds between two auto-mode offers in a room, at least. */
  autoMinIntervalSec: number;
  /** Finished proposals kept in memory per room (older ones live on in the store only). */
  maxProposalsKept: number;
}

/** What the extension hands every RoomAgent (shared by all rooms). */
export interface RoomAgentDeps {
  ctx: ServerContext;
  engine: Inference | null;
  proposals: ProposalService | null;
  recommendations: RecommendationService;
  moderation: Moderation;
  limiter: RequestBudget;
  prompts: PromptBuilder;
  limits: AgentLimits;
  textModel: string;
  imageModel: string;
  emit<E extends keyof ServerToClientEvents>(roomId: string, event: E, ...args: Parameters<ServerToClientEvents[E]>): void;
  /** Emits to the room's owner sockets only (moderation flags, the word list). */
  emitToOwners<E extends keyof ServerToClientEvents>(roomId: string, event: E, ...args: Parameters<ServerToClientEvents[E]>): void;
  /** The members connected to the room's channel, each with a way to reach that socket alone. */
  members(roomId: string): Promise<Array<{ memberId: string; ranking(e: { proposalId: string; order: number[] }): void }>>;
  onGenerationsChanged(delta: number): void;
}

export interface Alternative {
  index: number;
  seed: number;
  text: string;
  seq: number;
  done: boolean;
  finishReason?: ProposalDone['finishReason'];
  reason?: string;
  failed?: boolean;
  controller: AbortController;
}

export interface TextProposal {
  kind: 'text';
  info: ProposalInfo;
  anchor: Y.RelativePosition;
  anchorEnd: Y.RelativePosition | null;
  prompt: string;
  /** Instruct models: the messages the prompt was built as, and how to clean the reply. */
  messages?: ChatMessage[];
  clean?: CleanContext;
  context: string;
  alts: Alternative[];
  votes: Map<string, Map<number, 1 | -1>>;
  acceptedAlternative?: number;
  acceptedBy?: string;
  insertedText?: string;
  /** The Yjs ids the accept created (for `proposal:revert`). */
  inserted?: { client: number; clock: number; length: number };
  /** Rewrite: the passage the AI text replaced, to put back on revert. */
  replaced?: ReplacedRun[];
  revertedBy?: string;
  revertedAt?: string;
}

export interface ImageProposal {
  kind: 'image';
  info: ProposalInfo;
  panelId: string;
  prompt: string;
  images: ImageAlternative[];
  acceptedAlternative?: number;
  acceptedBy?: string;
}

export type Proposal = TextProposal | ImageProposal;

/**
 * What a RoomAgent lends its collaborators: the room's id and deps, and the state it owns (the
 * settings cache, the loaded document, the agent's Yjs client, the presence).
 */
export interface RoomScope {
  readonly roomId: string;
  readonly deps: RoomAgentDeps;
  /** Emits to every socket of this room. */
  emit<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): void;
  /** The room's stored record, re-read when the cached one is older than `maxAgeMs` (default 1 s). */
  roomRecord(maxAgeMs?: number): Promise<RoomRecord>;
  /** Runs `fn` with the room's loaded document, loading (and pinning) it for the call if needed. */
  withDoc<T>(fn: (room: LoadedRoom) => T | Promise<T>): Promise<T>;
  /** Edits the document as the agent's own Yjs client. */
  writeAsAgent<T>(room: LoadedRoom, edit: (doc: Y.Doc) => T): T;
  /** Recomputes the agent's presence state from the live proposals. */
  updatePresence(): void;
}
