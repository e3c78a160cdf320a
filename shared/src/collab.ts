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

const ProposalRef = z.object({ proposalId: z.string().min(1).max(64) });
export const VoteRequest = ProposalRef.extend({ alternative: z.number().int().min(0).max(3), value: z.union([z.literal(1), z.literal(-1), z.literal(0)]) });
export const AcceptRequest = ProposalRef.extend({ alternative: z.number().int().min(0).max(3) });
export const RejectRequest = ProposalRef.extend({ alternative: z.number().int().min(0).max(3).optional() });
export const StopRequest = ProposalRef;
export const RegenerateRequest = ProposalRef.extend({ alternatives: z.number().int().min(1).max(4).optional() });
export const ImageRequest = z.object({
  panelId: z.string().min(1).max(64),
  /** Free prompt; the panel's caption when absent. */
  prompt: z.string().trim().min(1).max(300).optional(),
  count: z.number().int().min(1).max(4),
});
export const NextRequest = z.object({ anchor: EncodedAnchor.optional() });
export const DismissRequest = z.object({ suggestionId: z.string().min(1).max(64) });

export type VoteRequest = z.infer<typeof VoteRequest>;
export type AcceptRequest = z.infer<typeof AcceptRequest>;
export type RejectRequest = z.infer<typeof RejectRequest>;
export type StopRequest = z.infer<typeof StopRequest>;
export type RegenerateRequest = z.infer<typeof RegenerateRequest>;
export type ImageRequest = z.infer<typeof ImageRequest>;
export type NextRequest = z.infer<typeof NextRequest>;
export type DismissRequest = z.infer<typeof DismissRequest>;

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
export type ProposalStatus = 'streaming' | 'ready' | 'accepted' | 'rejected' | 'stopped' | 'failed';

export interface ProposalInfo {
  id: string;
  kind: ProposalKind;
  requestedBy: { memberId: string; displayName: string };
  mode: ProposalMode | 'image';
  instruction?: string;
  /** Panel the image proposal is for. */
  panelId?: string;
  alternatives: number;
  model: string;
  createdAt: string;
  status: ProposalStatus;
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

export interface ServerToClientEvents {
  'proposal:started': (proposal: ProposalInfo) => void;
  'proposal:delta': (delta: ProposalDelta) => void;
  'proposal:done': (done: ProposalDone) => void;
  'proposal:failed': (failed: ProposalFailed) => void;
  'proposal:voted': (tally: VoteTally) => void;
  'proposal:accepted': (e: { proposalId: string; alternative: number; acceptedBy: string }) => void;
  'proposal:rejected': (e: { proposalId: string; alternative?: number; rejectedBy: string }) => void;
  'proposal:stopped': (e: { proposalId: string; stoppedBy: string }) => void;
  /** Sent to each member alone: the order in which to show this proposal's alternatives to them. */
  'proposal:ranking': (e: { proposalId: string; order: number[] }) => void;
  'image:proposed': (e: { proposalId: string; panelId: string; images: ImageAlternative[] }) => void;
  'image:accepted': (e: { proposalId: string; panelId: string; imageId: string; acceptedBy: string }) => void;
  'settings:changed': (settings: import('./rooms').RoomSettings) => void;
}

export interface ClientToServerEvents {
  'proposal:request': (req: ProposalRequest, ack: (res: Ack<{ proposal: ProposalInfo }>) => void) => void;
  'proposal:vote': (req: VoteRequest, ack: (res: Ack<{ tally: VoteTally }>) => void) => void;
  'proposal:accept': (req: AcceptRequest, ack: (res: Ack) => void) => void;
  'proposal:reject': (req: RejectRequest, ack: (res: Ack) => void) => void;
  'proposal:stop': (req: StopRequest, ack: (res: Ack) => void) => void;
  'proposal:regenerate': (req: RegenerateRequest, ack: (res: Ack<{ proposal: ProposalInfo }>) => void) => void;
  'image:request': (req: ImageRequest, ack: (res: Ack<{ proposal: ProposalInfo }>) => void) => void;
  'image:accept': (req: AcceptRequest, ack: (res: Ack) => void) => void;
  'recommend:next': (req: NextRequest, ack: (res: Ack<{ suggestions: Suggestion[] }>) => void) => void;
  'recommend:dismiss': (req: DismissRequest, ack: (res: Ack) => void) => void;
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
