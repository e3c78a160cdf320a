import { z } from 'zod';

/**
 * The AI collaborator's live channel: socket.io namespace `/collab` on the HTTP server.
 * Clients connect with `io(`${origin}/collab`, { auth: { token } })`.
 * Every client→server event takes an acknowledgement callback receiving an `Ack`.
 */
export const COLLAB_NAMESPACE = '/collab';

export const PROPOSAL_MODES = ['continue', 'rewrite', 'describe', 'brainstorm'] as const;
export const ProposalMode = z.enum(PROPOSAL_MODES);
export type ProposalMode = z.infer<typeof ProposalMode>;

/** A Yjs RelativePosition (Y.encodeRelativePosition) as base64; the requester's cursor or selection. */
export const EncodedAnchor = z.string().min(1).max(4096).regex(/^[A-Za-z0-9+/=]+$/, 'anchor must be base64');

export const ProposalRequest = z.object({
  anchor: EncodedAnchor,
  /** End of the selection for `rewrite`; absent for a collapsed cursor. */
  anchorEnd: EncodedAnchor.optional(),
  mode: ProposalMode,
  instruction: z.string().trim().max(500).optional(),
  alternatives: z.number().int().min(1).max(4),
});
export type ProposalRequest = z.infer<typeof ProposalRequest>;

/**
 * Most alternatives one proposal can hold: a request asks for 1–4, and `proposal:regenerate`
 * appends more (earlier ones are kept), so indices run 0..MAX_ALTERNATIVES-1.
 */
export const MAX_ALTERNATIVES = 12;
const AlternativeIndex = z.number().int().min(0).max(MAX_ALTERNATIVES - 1);

const ProposalRef = z.object({ proposalId: z.string().min(1).max(64) });
export const VoteRequest = ProposalRef.extend({ alternative: AlternativeIndex, value: z.union([z.literal(1), z.literal(-1), z.literal(0)]) });
export const AcceptRequest = ProposalRef.extend({ alternative: AlternativeIndex });
export const RejectRequest = ProposalRef.extend({ alternative: AlternativeIndex.optional() });
export const StopRequest = ProposalRef;
/** Takes an accepted text proposal's AI run back out of the story (any editor, any time; also while the AI is off). */
export const RevertRequest = ProposalRef.strict();
export const RegenerateRequest = ProposalRef.extend({ alternatives: z.number().int().min(1).max(4).optional() });
export const ImageRequest = z.object({
  panelId: z.string().min(1).max(64),
  /** Free prompt; the panel's caption when absent. */
  prompt: z.string().trim().min(1).max(300).optional(),
  count: z.number().int().min(1).max(4),
});
export const NextRequest = z.object({
  anchor: EncodedAnchor.optional(),
  /**
   * Tokens of other rooms the user holds (e.g. kept by the client from earlier joins). Each one
   * proves read access to that room, whose text is then searched for related passages. Tokens
   * that fail verification are ignored. Without them only the room's own text is searched.
   */
  libraryTokens: z.array(z.string().min(1).max(4096)).max(10).optional(),
});
export const DismissRequest = z.object({ suggestionId: z.string().min(1).max(64) });
export const ListRequest = z.object({}).strict();
/** The owner's list of flagged human text (`moderation:flags`). */
export const FlagsRequest = z.object({}).strict();

export type VoteRequest = z.infer<typeof VoteRequest>;
export type AcceptRequest = z.infer<typeof AcceptRequest>;
export type RejectRequest = z.infer<typeof RejectRequest>;
export type StopRequest = z.infer<typeof StopRequest>;
export type RegenerateRequest = z.infer<typeof RegenerateRequest>;
export type RevertRequest = z.infer<typeof RevertRequest>;
export type ImageRequest = z.infer<typeof ImageRequest>;
export type NextRequest = z.infer<typeof NextRequest>;
export type DismissRequest = z.infer<typeof DismissRequest>;
export type ListRequest = z.infer<typeof ListRequest>;
export type FlagsRequest = z.infer<typeof FlagsRequest>;

export const ERROR_CODES = [
  'invalid_payload',
  'forbidden',
  'not_found',
  'rate_limited',
  'busy',
  'ai_disabled',
  'quota_exhausted',
  'anchor_deleted',
  'conflict',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type Ack<T = Record<string, never>> = ({ ok: true } & T) | { ok: false; error: { code: ErrorCode; message: string } };

export type ProposalKind = 'text' | 'image';
/** `reverted`: it was accepted, then its AI text was taken out again (`proposal:revert`). */
export type ProposalStatus = 'streaming' | 'ready' | 'accepted' | 'rejected' | 'stopped' | 'failed' | 'reverted';

export interface ProposalInfo {
  id: string;
  kind: ProposalKind;
  requestedBy: { memberId: string; displayName: string };
  mode: ProposalMode | 'image';
  instruction?: string;
  /** Panel the image proposal is for. */
  panelId?: string;
  /** Text proposals: the requester's anchor (and selection end), so every member can preview in place. */
  anchor?: string;
  anchorEnd?: string;
  /** Total alternatives so far (grows on regenerate). */
  alternatives: number;
  /**
   * Index of the first alternative this `proposal:started` announces: 0 for a new proposal, the
   * previous count after `proposal:regenerate` (the earlier alternatives are kept).
   */
  firstAlternative?: number;
  model: string;
  createdAt: string;
  status: ProposalStatus;
  /** Set once an accepted proposal was reverted. */
  revertedBy?: string;
}

export interface ProposalDelta {
  proposalId: string;
  alternative: number;
  /** Position of this delta in its alternative's stream, from 0, so clients can check order. */
  seq: number;
  text: string;
}

export interface ProposalDone {
  proposalId: string;
  alternative: number;
  text: string;
  finishReason: 'stop' | 'length' | 'stopped' | 'filtered';
  /** Why the moderation filter dropped the text, when finishReason is 'filtered'. */
  reason?: string;
}

export interface ProposalFailed {
  proposalId: string;
  alternative?: number;
  code: ErrorCode;
  message: string;
}

export interface ProposalReverted {
  proposalId: string;
  revertedBy: string;
  /** Agent-written characters taken out. */
  removed: number;
  /** Characters members had typed inside the AI run: kept, no longer marked as AI. */
  keptHuman: number;
  /** Rewrite: characters of the replaced passage put back (as their authors'). */
  restored: number;
}
export interface RevertResult {
  removed: number;
  keptHuman: number;
  restored: number;
  /** True when it had been reverted before (nothing changed). */
  already: boolean;
}

/**
 * A word from the moderation lists in text a member typed (classrooms): shown to the owner only,
 * never blocked. `where` is the story or a bible field.
 */
export interface ModerationFlag {
  id: string;
  memberId: string;
  displayName: string;
  where: 'story' | 'bible:characters' | 'bible:setting' | 'bible:tone';
  word: string;
  /** A few words around it. */
  excerpt: string;
  at: string;
}

export interface VoteTally {
  proposalId: string;
  alternative: number;
  up: number;
  down: number;
}

export interface ImageAlternative {
  alternative: number;
  imageId: string;
  url: string;
}

export interface Suggestion {
  id: string;
  kind: 'craft-move' | 'related-passage';
  title: string;
  /** Instruction to send with a proposal request when the suggestion is clicked. */
  instruction: string;
  /** For related passages: where it comes from and the passage itself. */
  source?: { roomId: string; roomName: string };
  excerpt?: string;
  score: number;
}

/**
 * What one member may still ask the AI, sent to that member alone as `ai:allowance`: on connect,
 * after each of their requests, when their rate budget refills and when the room's settings change.
 */
export interface AiAllowance {
  /** False while the room's AI is off (or the server has no engine): nothing can be asked. */
  enabled: boolean;
  /** The room's per-member total in `limited` mode; null where none applies (other modes, the owner). */
  quota: { limit: number; remaining: number } | null;
  /**
   * The per-member rate: `remaining` of `capacity` now; the next one back in `nextInMs`, all of them
   * in `fullInMs` (both 0 when full); one more every `refillEveryMs`.
   */
  rate: { capacity: number; remaining: number; nextInMs: number; fullInMs: number; refillEveryMs: number };
  /** Requests that would be admitted right now: the smaller of the two (0 while disabled). */
  left: number;
}

export interface ServerToClientEvents {
  /** To one member alone: their remaining AI requests (see AiAllowance). */
  'ai:allowance': (allowance: AiAllowance) => void;
  'proposal:started': (proposal: ProposalInfo) => void;
  'proposal:delta': (delta: ProposalDelta) => void;
  'proposal:done': (done: ProposalDone) => void;
  'proposal:failed': (failed: ProposalFailed) => void;
  'proposal:voted': (tally: VoteTally) => void;
  'proposal:accepted': (e: { proposalId: string; alternative: number; acceptedBy: string }) => void;
  'proposal:rejected': (e: { proposalId: string; alternative?: number; rejectedBy: string }) => void;
  'proposal:stopped': (e: { proposalId: string; stoppedBy: string }) => void;
  /** An accepted proposal's AI text was taken out of the story again. */
  'proposal:reverted': (e: ProposalReverted) => void;
  /** Sent to each member alone: the order in which to show this proposal's alternatives to them. */
  'proposal:ranking': (e: { proposalId: string; order: number[] }) => void;
  'image:proposed': (e: { proposalId: string; panelId: string; images: ImageAlternative[] }) => void;
  'image:accepted': (e: { proposalId: string; panelId: string; imageId: string; acceptedBy: string }) => void;
  'settings:changed': (settings: import('./rooms').RoomSettings) => void;
  /** To the room's owner only: a member typed a word from the moderation lists (classrooms). */
  'moderation:flagged': (flag: ModerationFlag) => void;
  /**
   * Sent just before the server disconnects this socket for good (member removed, token expired):
   * `code` is one of CLOSE_CODES (`memberRemoved`, `tokenExpired`). Do not reconnect with the same token.
   */
  'collab:closed': (e: { code: number; reason: string }) => void;
  /**
   * A request that came without an acknowledgement callback failed: the error is sent here instead
   * (requests with a callback always get their error in the ack).
   */
  'collab:error': (e: { event: string; code: ErrorCode; message: string }) => void;
}

export interface ClientToServerEvents {
  'proposal:request': (req: ProposalRequest, ack: (res: Ack<{ proposal: ProposalInfo }>) => void) => void;
  'proposal:vote': (req: VoteRequest, ack: (res: Ack<{ tally: VoteTally }>) => void) => void;
  'proposal:accept': (req: AcceptRequest, ack: (res: Ack) => void) => void;
  'proposal:reject': (req: RejectRequest, ack: (res: Ack) => void) => void;
  'proposal:stop': (req: StopRequest, ack: (res: Ack) => void) => void;
  /** Idempotent: reverting a reverted proposal answers ok with `removed: 0`. */
  'proposal:revert': (req: RevertRequest, ack: (res: Ack<RevertResult>) => void) => void;
  'proposal:regenerate': (req: RegenerateRequest, ack: (res: Ack<{ proposal: ProposalInfo }>) => void) => void;
  'image:request': (req: ImageRequest, ack: (res: Ack<{ proposal: ProposalInfo }>) => void) => void;
  'image:accept': (req: AcceptRequest, ack: (res: Ack) => void) => void;
  'recommend:next': (req: NextRequest, ack: (res: Ack<{ suggestions: Suggestion[] }>) => void) => void;
  'recommend:dismiss': (req: DismissRequest, ack: (res: Ack) => void) => void;
  /** Owner only: the room's flagged human text so far, newest first. */
  'moderation:flags': (req: FlagsRequest, ack: (res: Ack<{ flags: ModerationFlag[] }>) => void) => void;
  /** Live proposals of the room (for members who join mid-stream). */
  'proposal:list': (req: ListRequest, ack: (res: Ack<{ proposals: ProposalSnapshot[] }>) => void) => void;
}

/** Text proposals that are still live in memory (late joiners call `proposal:list`). */
export interface ProposalSnapshot {
  proposal: ProposalInfo;
  /** Text so far of each alternative, and whether it finished. */
  alternatives: Array<{ alternative: number; text: string; done: boolean; finishReason?: ProposalDone['finishReason']; reason?: string }>;
  tallies: VoteTally[];
  /** Order for the asking member (personalised), when every alternative is done. */
  order?: number[];
}

/** The AI agent's identity in awareness and in the document's `authors` map. */
export const AGENT_MEMBER_ID = 'ensemble-agent';
export const AGENT_DISPLAY_NAME = 'Ensemble AI';
/**
 * The id of the small text model built into the repository (models/story-lm, trained here on a few
 * megabytes of stories): a demo that writes rough text. The UI says so when it serves a room.
 */
export const BUILT_IN_TEXT_MODEL = 'ensemble-story-lm';
export const AGENT_COLOR = '#8b5cf6';

/** Images proposed for panels are served here (add `?token=` for an <img>, or send a Bearer header). */
export function imageUrl(roomId: string, imageId: string): string {
  return `/api/rooms/${encodeURIComponent(roomId)}/images/${encodeURIComponent(imageId)}`;
}

/** `GET /api/rooms/:id/provenance` (token of that room required). */
export interface ProvenanceReport {
  roomId: string;
  /** Characters of the story still in the document, per author (humans and the agent). */
  authors: Array<{
    memberId: string;
    displayName: string;
    kind: 'human' | 'agent' | 'unknown';
    clientIds: number[];
    chars: number;
  }>;
  totalChars: number;
  ai: {
    /** Visible characters carrying the AI mark. */
    markedChars: number;
    /** Visible AI-marked characters per member who accepted them. */
    acceptedBy: Array<{ memberId: string; displayName: string; chars: number; proposals: number }>;
    /** Per accepted proposal still (partly) in the document or edited away. */
    proposals: Array<{
      proposalId: string;
      model: string;
      acceptedBy: string;
      /** Agent-written characters with the mark, still present. */
      agentChars: number;
      /** Human-written characters inside the AI-marked run (typed into AI text). */
      humanCharsInside: number;
    }>;
    /**
     * AI text later edited by humans: characters humans typed inside AI-marked runs, agent-written
     * characters since deleted, and agent-written characters whose AI mark was removed.
     */
    edited: {
      humanCharsInside: number;
      agentCharsDeleted: number;
      agentCharsUnmarked: number;
      byMember: Array<{ memberId: string; displayName: string; charsInside: number }>;
    };
    /** Accepted proposals whose AI text was taken out again (`proposal:revert`): who accepted, who undid. */
    reverted?: Array<{ proposalId: string; acceptedBy: string; revertedBy: string; revertedByName: string; revertedAt?: string }>;
  };
  /** AI requests per member, from the stored proposals. */
  requests: Array<{ memberId: string; displayName: string; text: number; image: number; accepted: number }>;
}

/** The agent's presence, published in the room's Yjs awareness under the `user` field. */
export type AgentState = 'idle' | 'thinking' | 'writing';
export interface PresenceUser {
  name: string;
  color: string;
  memberId?: string;
  role?: import('./rooms').Role;
  /** Present only on the AI agent's awareness state. */
  agent?: { state: AgentState; model: string };
}
