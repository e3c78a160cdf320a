import * as decoding from 'lib0/decoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import { CLOSE_CODES } from '@ensemble/shared';
import type { Metrics } from '../metrics';
import type { Connection } from './connection';
import type { RoomDocument } from './room-document';
import type { UpdateDecoder } from './update-decoder';
import { checkUpdate, type UpdateLimits } from './update-guard';
import type { UpdateSummary } from './update-summary';
import {
  MESSAGE_AUTH,
  MESSAGE_AWARENESS,
  MESSAGE_QUERY_AWARENESS,
  MESSAGE_SYNC,
  ProtocolError,
  SYNC_STEP1,
  SYNC_STEP2,
  SYNC_UPDATE,
  encodeAwareness,
  encodePermissionDenied,
  encodeSyncStep2,
} from './protocol';

const malformed = (what: string) => new ProtocolError(what, CLOSE_CODES.malformedMessage);

/**
 * Handles one decoded frame of a connection whose room is loaded. Throws ProtocolError (or any
 * decoding error) for frames it refuses; the caller closes the connection. A large update is
 * decoded off the event loop: then `handle` returns a promise, and the connection holds its later
 * frames until it settles (frames of one connection are always processed in order).
 */
export class MessageHandler {
  constructor(
    private readonly metrics: Metrics,
    private readonly limits: UpdateLimits,
    private readonly decoder: UpdateDecoder,
  ) {}

  handle(conn: Connection, room: RoomDocument, message: Uint8Array): void | Promise<void> {
    const decoder = decoding.createDecoder(message);
    const type = decoding.readVarUint(decoder);
    switch (type) {
      case MESSAGE_SYNC:
        return this.handleSync(conn, room, decoder);
      case MESSAGE_AWARENESS: {
        const update = this.acceptAwareness(conn, room, decoding.readVarUint8Array(decoder));
        if (update) awarenessProtocol.applyAwarenessUpdate(room.awareness, update, conn.origin);
        return;
      }
      case MESSAGE_QUERY_AWARENESS: {
        if (!this.mayQueryAwareness(conn)) return;
        const clients = [...room.awareness.getStates().keys()];
        if (clients.length > 0) conn.send(encodeAwareness(room.awareness, clients));
        return;
      }
      case MESSAGE_AUTH:
        return; // clients have nothing to say here
      default:
        throw malformed(`unknown message type ${type}`);
    }
  }

  /**
   * A client may set or clear only its own awareness state (one client id per connection), never
   * another client's (or the server's, e.g. the AI agent's presence), within AwarenessGuard's size,
   * schema and rate limits, with its identity from its token. Returns what to apply, or null.
   */
  private acceptAwareness(conn: Connection, room: RoomDocument, update: Uint8Array): Uint8Array | null {
    const verdict = conn.awarenessGuard.filterUpdate(update, room.awareness, (clientId) => room.mayControlAwareness(conn, clientId));
    for (const reason of verdict.rejected) this.metrics.rejectedMessages.inc({ reason });
    if (verdict.abusive) {
      this.closeForAwarenessAbuse(conn);
      return null;
    }
    return verdict.update;
  }

  private mayQueryAwareness(conn: Connection): boolean {
    const { allowed, abusive } = conn.awarenessGuard.allowQuery();
    if (!allowed) this.metrics.rejectedMessages.inc({ reason: 'query_awareness_rate' });
    if (abusive) this.closeForAwarenessAbuse(conn);
    return allowed;
  }

  private closeForAwarenessAbuse(conn: Connection): void {
    this.metrics.disconnects.inc({ reason: 'awareness_abuse' });
    conn.refuse(CLOSE_CODES.awarenessAbuse, 'awareness abuse');
  }

  private handleSync(conn: Connection, room: RoomDocument, decoder: decoding.Decoder): void | Promise<void> {
    const syncType = decoding.readVarUint(decoder);
    switch (syncType) {
      case SYNC_STEP1: {
        const stateVector = decoding.readVarUint8Array(decoder);
        conn.send(encodeSyncStep2(room.doc, stateVector));
        return;
      }
      case SYNC_STEP2:
      case SYNC_UPDATE: {
        return this.applyUpdate(conn, room, decoding.readVarUint8Array(decoder));
      }
      default:
        throw malformed(`unknown sync message type ${syncType}`);
    }
  }

  private applyUpdate(conn: Connection, room: RoomDocument, update: Uint8Array): void | Promise<void> {
    let summary: UpdateSummary | Promise<UpdateSummary>;
    try {
      summary = this.decoder.summarize(update);
    } catch {
      throw malformed('undecodable update');
    }
    if (!(summary instanceof Promise)) return this.applySummarized(conn, room, update, summary);
    return summary.then(
      (s) => {
        // The room may have been reset or the sender closed while the worker decoded.
        if (!conn.closed && !room.destroyed && !room.poisoned) this.applySummarized(conn, room, update, s);
      },
      () => {
        throw malformed('undecodable update');
      },
    );
  }

  private applySummarized(conn: Connection, room: RoomDocument, update: Uint8Array, summary: UpdateSummary): void {
    if (!conn.canWrite) {
      // A viewer's step 2 after connecting is usually empty: let that pass silently.
      if (summary.structCount === 0 && summary.ds.length === 0) return;
      this.metrics.rejectedMessages.inc({ reason: 'viewer_write' });
      conn.send(encodePermissionDenied('viewers cannot edit this room'));
      return;
    }
    this.applyChecked(conn, room, update, summary);
    this.applyReadyPending(room);
  }

  /** Validates and applies one update of `sender`, or parks it until what it depends on arrives. */
  private applyChecked(sender: Connection, room: RoomDocument, update: Uint8Array, summary: UpdateSummary): void {
    const verdict = checkUpdate({
      doc: room.doc,
      update: summary,
      memberId: sender.claims.memberId,
      ownerOf: room.ownerOfClient,
      limits: this.limits,
    });
    switch (verdict.kind) {
      case 'reject':
        this.metrics.rejectedMessages.inc({ reason: 'invalid_update' });
        throw new ProtocolError(`update rejected: ${verdict.reason}`, CLOSE_CODES.updateRejected);
      case 'pending':
        if (room.pending.add(sender, update, summary, verdict.needs)) {
          this.metrics.rejectedMessages.inc({ reason: 'pending_update' });
          return;
        }
        this.metrics.rejectedMessages.inc({ reason: 'pending_budget' });
        room.askToResync(sender);
        return;
      case 'apply': {
        if (verdict.empty) return;
        const author = { memberId: sender.claims.memberId, displayName: sender.claims.displayName, kind: 'human' } as const;
        if (room.applyClientUpdate(update, sender, author, verdict.newClients)) {
          this.metrics.rejectedMessages.inc({ reason: 'unexpected_pending' });
        }
      }
    }
  }

  /** Applies parked updates whose dependencies have arrived (each one checked again). */
  private applyReadyPending(room: RoomDocument): void {
    for (let ready = room.pending.takeReady(room.doc); ready.length > 0; ready = room.pending.takeReady(room.doc)) {
      for (const entry of ready) {
        const sender = entry.sender as Connection;
        try {
          this.applyChecked(sender, room, entry.update, entry.summary);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
          sender.refuse(err.closeCode, 'update rejected');
        }
      }
    }
  }
}
