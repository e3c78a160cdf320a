import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { openRaw, type WebSocket } from './clients';
import { waitFor } from './wait';

/**
 * A script posing as a member: a raw websocket on the sync endpoint that keeps a mirror of the
 * room's document (to craft updates against real state) and sends whatever Yjs update it is given.
 */
export interface HostilePeer {
  socket: WebSocket;
  /** What the server has sent, applied (the mirror never sends anything by itself). */
  mirror: Y.Doc;
  /** Sync step 1 messages received (the server's first may arrive before the peer listens). */
  step1Count: number;
  /** Resolves with the close code. */
  closed: Promise<number>;
  send(update: Uint8Array): void;
  sendRaw(frame: Uint8Array): void;
  close(): void;
}

export async function connectHostile(syncUrl: string, roomId: string, token: string): Promise<HostilePeer> {
  const outcome = await openRaw(`${syncUrl}/${roomId}?token=${token}`);
  if (outcome.kind !== 'open') throw new Error(`hostile upgrade refused: ${outcome.status}`);
  const socket = outcome.socket;
  socket.on('error', () => {});
  const mirror = new Y.Doc();
  const peer: HostilePeer = {
    socket,
    mirror,
    step1Count: 0,
    closed: new Promise<number>((resolve) => socket.once('close', (code: number) => resolve(code))),
    send: (update) => peer.sendRaw(updateFrame(update)),
    sendRaw: (frame) => {
      if (socket.readyState === 1) socket.send(frame);
    },
    close: () => socket.close(1000),
  };
  let synced = false;
  socket.on('message', (data: Buffer) => {
    const decoder = decoding.createDecoder(new Uint8Array(data));
    if (decoding.readVarUint(decoder) !== 0) return;
    const type = decoding.readVarUint(decoder);
    if (type === syncProtocol.messageYjsSyncStep1) {
      peer.step1Count++;
      return;
    }
    Y.applyUpdate(mirror, decoding.readVarUint8Array(decoder), 'server');
    if (type === syncProtocol.messageYjsSyncStep2) synced = true;
  });
  const step1 = encoding.createEncoder();
  encoding.writeVarUint(step1, 0);
  syncProtocol.writeSyncStep1(step1, mirror);
  socket.send(encoding.toUint8Array(step1));
  await waitFor(() => synced, { message: 'hostile peer did not sync' });
  return peer;
}

export function updateFrame(update: Uint8Array): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, 0);
  syncProtocol.writeUpdate(enc, update);
  return encoding.toUint8Array(enc);
}

/** A Yjs (v1) update holding only a delete set. */
export function deleteSetUpdate(ranges: Array<{ client: number; clock: number; len: number }>): Uint8Array {
  const byClient = new Map<number, Array<{ clock: number; len: number }>>();
  for (const r of ranges) byClient.set(r.client, [...(byClient.get(r.client) ?? []), r]);
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, 0); // no structs
  encoding.writeVarUint(enc, byClient.size);
  for (const [client, list] of byClient) {
    encoding.writeVarUint(enc, client);
    encoding.writeVarUint(enc, list.length);
    for (const { clock, len } of list) {
      encoding.writeVarUint(enc, clock);
      encoding.writeVarUint(enc, len);
    }
  }
  return encoding.toUint8Array(enc);
}

/** Runs `edit` on a copy of `base` as client `clientID` and returns just the update it made. */
export function craft(base: Y.Doc, edit: (doc: Y.Doc) => void, clientID = 1 + Math.floor(Math.random() * 0x7ffffffe)): { update: Uint8Array; doc: Y.Doc } {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(base));
  // Set after loading: Yjs would pick a new id if the loaded state already used this one.
  doc.clientID = clientID;
  const before = Y.encodeStateVector(doc);
  edit(doc);
  return { update: Y.encodeStateAsUpdate(doc, before), doc };
}
