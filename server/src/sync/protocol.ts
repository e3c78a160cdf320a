/**
 * The y-websocket wire protocol, spelled out (cf. y-websocket-server's utils.js): every frame is
 * a varuint message type followed by its payload.
 *
 *   [0 messageSync]           [varuint syncType][varUint8Array payload]   (y-protocols/sync)
 *       syncType 0 step1: state vector → answered with step2 (the missing update)
 *       syncType 1 step2: update        syncType 2 update: update
 *   [1 messageAwareness]      [varUint8Array awareness update]            (y-protocols/awareness)
 *   [2 messageAuth]           [varuint 0 permission denied][varString reason] (y-protocols/auth)
 *   [3 messageQueryAwareness] → answered with every awareness state
 */
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as authProtocol from 'y-protocols/auth';
import * as syncProtocol from 'y-protocols/sync';
import type * as Y from 'yjs';

export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;

export const SYNC_STEP1 = syncProtocol.messageYjsSyncStep1; // 0
export const SYNC_STEP2 = syncProtocol.messageYjsSyncStep2; // 1
export const SYNC_UPDATE = syncProtocol.messageYjsUpdate; // 2

/** One frame: the message type, then what `write` puts after it. */
function frame(type: number, write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, type);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

export const encodeSyncStep1 = (doc: Y.Doc): Uint8Array => frame(MESSAGE_SYNC, (e) => syncProtocol.writeSyncStep1(e, doc));

export const encodeSyncStep2 = (doc: Y.Doc, stateVector: Uint8Array): Uint8Array =>
  frame(MESSAGE_SYNC, (e) => syncProtocol.writeSyncStep2(e, doc, stateVector));

export const encodeUpdate = (update: Uint8Array): Uint8Array => frame(MESSAGE_SYNC, (e) => syncProtocol.writeUpdate(e, update));

export const encodeAwareness = (awareness: awarenessProtocol.Awareness, clients: number[]): Uint8Array =>
  frame(MESSAGE_AWARENESS, (e) => encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, clients)));

export const encodePermissionDenied = (reason: string): Uint8Array => frame(MESSAGE_AUTH, (e) => authProtocol.writePermissionDenied(e, reason));

/** A frame the server refuses to process; the connection is closed with `closeCode`. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly closeCode: number,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
