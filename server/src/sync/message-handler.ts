import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import { CLOSE_CODES } from '@ensemble/shared';
import type { Metrics } from '../metrics';
import type { Connection } from './connection';
import type { RoomDocument } from './room-document';
import { checkUpdate, type UpdateLimits } from './update-guard';
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
 * decoding error) for frames it refuses; the caller closes the connection.
 */
export class MessageHandler {
  constructor(
    private readonly metrics: Metrics,
    private readonly limits: UpdateLimits,
  ) {}

  handle(conn: Connection, room: RoomDocument, message: Uint8Array): void {
    const decoder = decoding.createDecoder(message);
    const type = decoding.readVarUint(decoder);
    switch (type) {
      case MESSAGE_SYNC:
        this.handleSync(conn, room, decoder);
        return;
      case MESSAGE_AWARENESS: {
        const update = this.acceptAwareness(conn, room, decoding.readVarUint8Array(decoder));
        if (update) awarenessProtocol.applyAwarenessUpdate(room.awareness, update, conn);
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
    conn.close(CLOSE_CODES.awarenessAbuse, 'awareness abuse');
  }

  private handleSync(conn: Connection, room: RoomDocument, decoder: decoding.Decoder): void {
    const syncType = decoding.readVarUint(decoder);
    switch (syncType) {
      case SYNC_STEP1: {
        const stateVector = decoding.readVarUint8Array(decoder);
        conn.send(encodeSyncStep2(room.doc, stateVector));
        return;
      }
      case SYNC_STEP2:
      case SYNC_UPDATE: {
        const update = decoding.readVarUint8Array(decoder);
        this.applyUpdate(conn, room, update);
        return;
      }
      default:
        throw malformed(`unknown sync message type ${syncType}`);
    }
  }

  private applyUpdate(conn: Connection, room: RoomDocument, update: Uint8Array): void {
    if (!conn.canWrite) {
      // A viewer's step 2 after connecting is usually empty: let that pass silently.
      let decoded: ReturnType<typeof Y.decodeUpdate>;
      try {
        decoded = Y.decodeUpdate(update);
      } catch {
        throw malformed('undecodable update');
      }
      if (decoded.structs.length === 0 && decoded.ds.clients.size === 0) return;
      this.metrics.rejectedMessages.inc({ reason: 'viewer_write' });
      conn.send(encodePermissionDenied('viewers cannot edit this room'));
      return;
    }
    this.applyChecked(conn, room, update);
    this.applyReadyPending(room);
  }

  /** Validates and applies one update of `sender`, or parks it until what it depends on arrives. */
  private applyChecked(sender: Connection, room: RoomDocument, update: Uint8Array): void {
    const verdict = checkUpdate({
      doc: room.doc,
      update,
      memberId: sender.claims.memberId,
      ownerOf: (client) => room.ownerOf(client),
      limits: this.limits,
    });
    switch (verdict.kind) {
      case 'reject':
        this.metrics.rejectedMessages.inc({ reason: 'invalid_update' });
        throw new ProtocolError(`update rejected: ${verdict.reason}`, CLOSE_CODES.updateRejected);
      case 'pending':
        if (room.pending.add(sender, update, verdict.needs)) {
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
          this.applyChecked(sender, room, entry.update);
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
          sender.close(err.closeCode, 'update rejected');
        }
      }
    }
  }

}
