import { z } from 'zod';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { Awareness } from 'y-protocols/awareness';
import type { PresenceUser, TokenClaims } from '@ensemble/shared';
import { TokenBucket } from '../limits/token-bucket';

export interface AwarenessLimits {
  /** Largest serialized (JSON, UTF-8) state a client may set. */
  maxStateBytes: number;
  /** Awareness updates per second per connection; bursts of twice that. */
  updatesPerSec: number;
}

export const DEFAULT_AWARENESS_LIMITS: AwarenessLimits = { maxStateBytes: 8192, updatesPerSec: 30 };

/** Stock clients never send query-awareness over the websocket (only over BroadcastChannel). */
const QUERIES_PER_SEC = 2;
const QUERY_BURST = 4;
/**
 * Abuse tolerance, in strikes: a frame dropped for the rate costs one, a state no honest client
 * sends (oversized, invalid, for a client id not its own) costs twenty. The tolerance refills at
 * twice the update rate, so a client may send at up to three times its rate for ever (the excess
 * dropped: a fast selection drag is about twice) and a few bad states in a row are only dropped,
 * but a flood, or more than three bad states a second, exhausts it and the socket is closed.
 */
const TOLERANCE = 100;
const BAD_STATE_STRIKES = 20;

/** Why an awareness frame, or part of it, was dropped: the `reason` label of rejectedMessages. */
export type AwarenessRejection =
  | 'foreign_awareness'
  | 'extra_awareness_id'
  | 'awareness_rate'
  | 'awareness_too_big'
  | 'awareness_invalid'
  | 'query_awareness_rate';

export interface AwarenessVerdict {
  /** What to apply: the connection's own entries, sanitized (null when nothing is left). */
  update: Uint8Array | null;
  /** Reasons for what was dropped, each once. */
  rejected: AwarenessRejection[];
  /** The connection has abused its tolerance: close it with CLOSE_CODES.awarenessAbuse. */
  abusive: boolean;
}

/** `#rgb` or `#rrggbb`: no alpha, so nobody can draw an invisible caret. */
const HexColor = z.string().regex(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/);
/** A Yjs ID {client, clock}. */
const YId = z.object({ client: z.number().int().nonnegative(), clock: z.number().int().nonnegative() });
/** JSON of a Y.RelativePosition (y-prosemirror's cursor anchor and head). */
const RelativePosition = z.object({
  type: YId.nullish(),
  tname: z.string().max(256).nullish(),
  item: YId.nullish(),
  assoc: z.number().int().nullish(),
});

/**
 * What a client may put in its awareness state: what the web client sets (Tiptap's
 * CollaborationCaret: `user`; y-prosemirror: `cursor`). Unknown keys, here and in `user`, are
 * stripped rather than rejected: a client library that adds a field keeps its presence, and
 * nothing unvetted reaches the others. `user.name`, `memberId` and `role` are dropped too and set
 * from the token; `user.agent` (what marks the AI) is never kept.
 */
const ClientState = z.object({
  user: z.object({ color: HexColor.optional() }).optional(),
  cursor: z.object({ anchor: RelativePosition, head: RelativePosition }).nullish(),
});

/** The state others will see: the client's vetted fields, its identity from the token. */
export function sanitizeAwarenessState(state: unknown, claims: TokenClaims): Record<string, unknown> | null {
  const parsed = ClientState.safeParse(state);
  if (!parsed.success) return null;
  const user: Partial<PresenceUser> = { name: claims.displayName, memberId: claims.memberId, role: claims.role };
  if (parsed.data.user?.color) user.color = parsed.data.user.color;
  return { ...parsed.data, user };
}

const textDecoder = new TextDecoder();

function isNullState(bytes: Uint8Array): boolean {
  return bytes.length <= 16 && textDecoder.decode(bytes).trim() === 'null';
}

/** Whether y-protocols' applyAwarenessUpdate would change anything for this entry. */
function wouldApply(awareness: Awareness, clientId: number, clock: number, state: Uint8Array): boolean {
  const known = awareness.meta.get(clientId)?.clock ?? 0;
  return known < clock || (known === clock && awareness.states.has(clientId) && isNullState(state));
}

/**
 * Per-connection awareness policy: a connection speaks for exactly one awareness client id (the
 * first it announces that it may control), with bounded, schema-checked states whose identity
 * comes from its token, at a bounded rate.
 */
export class AwarenessGuard {
  /** The one awareness client id this connection speaks for, once it has announced it. */
  private clientId: number | undefined;
  private readonly updates: TokenBucket;
  private readonly queries: TokenBucket;
  private readonly tolerance: TokenBucket;

  constructor(
    private readonly claims: TokenClaims,
    private readonly limits: AwarenessLimits = DEFAULT_AWARENESS_LIMITS,
    now: () => number = Date.now,
  ) {
    this.updates = new TokenBucket(limits.updatesPerSec, 2 * limits.updatesPerSec, now);
    this.queries = new TokenBucket(QUERIES_PER_SEC, QUERY_BURST, now);
    this.tolerance = new TokenBucket(2 * limits.updatesPerSec, TOLERANCE, now);
  }

  /**
   * Filters an awareness update (y-protocols encoding) from this connection. `mayControl` says
   * whether the room lets the connection set that client id (not another member's, nor the
   * server's). Throws on an undecodable update or a state that is not JSON.
   */
  filterUpdate(update: Uint8Array, awareness: Awareness, mayControl: (clientId: number) => boolean): AwarenessVerdict {
    const decoder = decoding.createDecoder(update);
    const count = decoding.readVarUint(decoder);
    const accepted: Array<{ clientId: number; clock: number; state: string }> = [];
    const rejected = new Set<AwarenessRejection>();
    let abusive = false;
    const strike = (reason: AwarenessRejection, strikes: number) => {
      rejected.add(reason);
      if (!this.tolerance.take(strikes)) abusive = true;
    };
    for (let i = 0; i < count && !abusive; i++) {
      const clientId = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      const bytes = decoding.readVarUint8Array(decoder); // a varString's encoding, not decoded yet
      // Stock y-websocket clients echo every awareness update they receive back to the server:
      // such entries change nothing (their clock is not newer) and are skipped, not counted.
      if (!wouldApply(awareness, clientId, clock, bytes)) continue;
      // Removing a state it never set is a no-op that would still leave meta behind: skip it.
      if (clientId !== this.clientId && isNullState(bytes)) continue;
      if (this.clientId !== undefined && clientId !== this.clientId) {
        strike(mayControl(clientId) ? 'extra_awareness_id' : 'foreign_awareness', BAD_STATE_STRIKES);
        continue;
      }
      if (!mayControl(clientId)) {
        strike('foreign_awareness', BAD_STATE_STRIKES);
        continue;
      }
      if (!this.updates.take()) {
        strike('awareness_rate', 1);
        continue;
      }
      if (bytes.length > this.limits.maxStateBytes) {
        strike('awareness_too_big', BAD_STATE_STRIKES);
        continue;
      }
      const state: unknown = JSON.parse(textDecoder.decode(bytes));
      const sanitized = state === null ? null : sanitizeAwarenessState(state, this.claims);
      if (sanitized === null && state !== null) {
        strike('awareness_invalid', BAD_STATE_STRIKES);
        continue;
      }
      this.clientId = clientId;
      accepted.push({ clientId, clock, state: JSON.stringify(sanitized) });
    }
    return { update: accepted.length > 0 ? encodeEntries(accepted) : null, rejected: [...rejected], abusive };
  }

  /** Whether a query-awareness may be answered now; `abusive` when the tolerance is exhausted. */
  allowQuery(): { allowed: boolean; abusive: boolean } {
    if (this.queries.take()) return { allowed: true, abusive: false };
    return { allowed: false, abusive: !this.tolerance.take() };
  }
}

function encodeEntries(entries: Array<{ clientId: number; clock: number; state: string }>): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const e of entries) {
    encoding.writeVarUint(encoder, e.clientId);
    encoding.writeVarUint(encoder, e.clock);
    encoding.writeVarString(encoder, e.state);
  }
  return encoding.toUint8Array(encoder);
}

/**
 * The entries of an awareness update (y-protocols encoding) that `keep` accepts, re-encoded; null
 * when none is left. `keep` sees the parsed state (null for a removal). Throws on a malformed update.
 */
export function keepAwarenessEntries(update: Uint8Array, keep: (clientId: number, state: unknown) => boolean): Uint8Array | null {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const kept: Array<{ clientId: number; clock: number; state: string }> = [];
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const state = decoding.readVarString(decoder);
    if (keep(clientId, JSON.parse(state))) kept.push({ clientId, clock, state });
  }
  return kept.length > 0 ? encodeEntries(kept) : null;
}
