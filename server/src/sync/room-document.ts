import * as Y from 'yjs';
import { Awareness, removeAwarenessStates } from 'y-protocols/awareness';
import { authorsOf, type AuthorEntry } from '@ensemble/shared';
import type { RoomDocument as RoomDocumentApi } from '../context';
import { encodeAwareness, encodeUpdate } from './protocol';
import type { UpdateLog } from './update-log';
import { replaceContent } from './restore';

/** Transaction origins the server itself uses. */
export const ORIGIN_LOAD = Symbol('ensemble:load');
export const ORIGIN_RESTORE = Symbol('ensemble:restore');
export const ORIGIN_AUTHORS = Symbol('ensemble:authors');

/** What a RoomDocument needs from a connection: something to send frames to. */
export interface Peer {
  send(message: Uint8Array): void;
  /** Awareness client ids this peer controls (removed when it leaves). */
  readonly awarenessIds: Set<number>;
  /** The member behind the peer: a member's new connection may take over its old one's awareness. */
  readonly memberId?: string;
}

/**
 * One loaded room: its Y.Doc, awareness and connections. Every document update, whatever its
 * origin (a client, the agent extension, a restore), is broadcast to every connection except the
 * one it came from and appended to the room's update log.
 */
export class RoomDocument implements RoomDocumentApi {
  readonly awareness: Awareness;
  readonly connections = new Set<Peer>();
  /** `acquire` pins (extensions, REST handlers). */
  pins = 0;
  unloading = false;
  destroyed = false;
  log!: UpdateLog;
  /** Awareness client id → the peer that controls it; ids set by the server itself map to null. */
  private readonly awarenessOwners = new Map<number, Peer | null>();
  /** Yjs client ids first seen in the last transaction of each peer (for `authors`). */
  private newClients: number[] = [];

  constructor(
    readonly roomId: string,
    readonly doc: Y.Doc,
    private readonly onUpdate: (update: Uint8Array, origin: unknown) => void,
  ) {
    this.awareness = new Awareness(doc);
    this.awareness.setLocalState(null);
    doc.on('update', this.handleUpdate);
    doc.on('afterTransaction', this.handleAfterTransaction);
    this.awareness.on('update', this.handleAwareness);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get refs(): number {
    return this.connections.size + this.pins;
  }

  attachLog(log: UpdateLog): void {
    this.log = log;
  }

  broadcast(message: Uint8Array, except?: unknown): void {
    for (const peer of this.connections) if (peer !== except) peer.send(message);
  }

  private readonly handleUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === ORIGIN_LOAD) return;
    this.broadcast(encodeUpdate(update), origin);
    this.log.push(update);
    this.onUpdate(update, origin);
  };

  private readonly handleAfterTransaction = (tr: Y.Transaction): void => {
    if (!this.connections.has(tr.origin as Peer)) return;
    for (const client of tr.afterState.keys()) if (!tr.beforeState.has(client)) this.newClients.push(client);
  };

  /** Records `author` for client ids that first appeared in the peer's last update. */
  recordAuthors(author: AuthorEntry): void {
    if (this.newClients.length === 0) return;
    const clients = this.newClients;
    this.newClients = [];
    const authors = authorsOf(this.doc);
    const missing = clients.filter((c) => !authors.has(String(c)));
    if (missing.length === 0) return;
    this.doc.transact(() => {
      for (const client of missing) authors.set(String(client), author);
    }, ORIGIN_AUTHORS);
  }

  discardNewClients(): void {
    this.newClients = [];
  }

  private readonly handleAwareness = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    const peer = origin as Peer;
    const owner = this.connections.has(peer) ? peer : null;
    for (const id of added.concat(updated)) {
      const previous = this.awarenessOwners.get(id);
      if (owner && previous !== owner) {
        previous?.awarenessIds.delete(id); // taken over by the member's newer connection
        owner.awarenessIds.add(id);
        this.awarenessOwners.set(id, owner);
      } else if (!owner && previous === undefined) {
        this.awarenessOwners.set(id, null);
      }
    }
    for (const id of removed) {
      owner?.awarenessIds.delete(id);
      this.awarenessOwners.delete(id);
    }
    const changed = added.concat(updated, removed);
    if (changed.length > 0) this.broadcast(encodeAwareness(this.awareness, changed));
  };

  /** Whether `peer` may set the awareness state of `clientId` (its own, or one nobody holds). */
  mayControlAwareness(peer: Peer, clientId: number): boolean {
    if (clientId === this.doc.clientID) return false;
    const owner = this.awarenessOwners.get(clientId);
    return owner === undefined || owner === peer || (owner !== null && owner.memberId !== undefined && owner.memberId === peer.memberId);
  }

  addPeer(peer: Peer): void {
    this.connections.add(peer);
  }

  removePeer(peer: Peer): void {
    if (!this.connections.delete(peer)) return;
    if (peer.awarenessIds.size > 0) removeAwarenessStates(this.awareness, [...peer.awarenessIds], null);
    for (const id of peer.awarenessIds) if (this.awarenessOwners.get(id) === peer) this.awarenessOwners.delete(id);
  }

  /** Makes the document's content equal to `state`'s, as one new update every client receives. */
  restore(state: Uint8Array): void {
    const version = new Y.Doc({ gc: false });
    Y.applyUpdate(version, state);
    this.doc.transact(() => replaceContent(this.doc, version), ORIGIN_RESTORE);
    version.destroy();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.doc.off('update', this.handleUpdate);
    this.doc.off('afterTransaction', this.handleAfterTransaction);
    this.awareness.off('update', this.handleAwareness);
    this.awareness.destroy();
    this.doc.destroy();
    this.connections.clear();
  }
}
