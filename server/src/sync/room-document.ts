import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import { authorsOf, type AuthorEntry } from '@ensemble/shared';
import { ORIGINS, originConnection, type LoadedRoom, type RoomChannel, type TransactionOrigin } from '../ports';
import { PendingUpdates, type PendingLimits } from './pending-updates';
import { encodeAwareness, encodeSyncStep1, encodeUpdate } from './protocol';
import { keepAwarenessEntries } from './awareness-guard';
import type { ClientOwner } from './update-guard';
import type { UpdateLog } from './update-log';
import { replaceContent } from './restore';

/** The member an awareness state speaks for (`user.memberId`, which the accepting process set from the token). */
function memberIdOf(state: unknown): unknown {
  return (state as { user?: { memberId?: unknown } } | null | undefined)?.user?.memberId;
}

/** What a RoomDocument needs from a connection: something to send frames to. */
export interface Peer {
  /** The origin of its updates and awareness changes (`{ source: 'connection', connection: this }`). */
  readonly origin: TransactionOrigin;
  send(message: Uint8Array): void;
  /** Awareness client ids this peer controls (removed when it leaves). */
  readonly awarenessIds: Set<number>;
  /** The member behind the peer: a member's new connection may take over its old one's awareness. */
  readonly memberId?: string;
  close(code: number, reason: string): void;
  /** Closes it for breaking the rules (without reading what it still has queued). */
  refuse(code: number, reason: string): void;
  /** Its updates wait for structs the room lacks: send it `syncStep1` (or close it when that keeps happening). */
  requestResync(syncStep1: Uint8Array): void;
}

/**
 * Applying an update threw inside Yjs: the document may be half-changed and Yjs may never emit
 * updates again, so the room must be reloaded from storage (`DocumentRegistry.reset`).
 */
export class DocumentPoisonedError extends Error {
  constructor(
    readonly roomId: string,
    cause: unknown,
    /** Whose update it was (none for a restore). */
    readonly offender?: Peer,
  ) {
    super(`applying an update to room ${roomId} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'DocumentPoisonedError';
  }
}

/**
 * One loaded room: its Y.Doc, awareness and connections. Every document update, whatever its
 * origin (a client, the agent extension, a restore), is broadcast to every connection except the
 * one it came from and appended to the room's update log. Client updates and restores are applied
 * atomically: if Yjs throws, nothing of them is published and the room is marked poisoned.
 */
export class RoomDocument implements LoadedRoom {
  readonly awareness: Awareness;
  readonly connections = new Set<Peer>();
  /** `acquire` pins (extensions, REST handlers). */
  pins = 0;
  unloading = false;
  destroyed = false;
  log!: UpdateLog;
  /** Set once applying an update failed: the room is being reloaded and takes nothing more. */
  poisoned = false;
  /** Client updates waiting for structs the room has not seen yet. */
  readonly pending: PendingUpdates<Peer>;
  /** Awareness client id → the peer that controls it; ids set by the server itself map to null. */
  private readonly awarenessOwners = new Map<number, Peer | null>();
  /** Awareness client ids another process's client speaks for (their owner here is null). */
  private readonly remoteAwareness = new Set<number>();
  /** The room's copies in other processes (null when this process is the only one). */
  private channel: RoomChannel | null = null;
  /** Updates emitted while a client update is applied: published only if the whole apply succeeds. */
  private captured: Array<[Uint8Array, unknown]> | null = null;

  constructor(
    readonly roomId: string,
    readonly doc: Y.Doc,
    private readonly onUpdate: (update: Uint8Array, origin: unknown) => void,
    pendingLimits: PendingLimits = { maxBytes: 1 << 20, ttlMs: 10_000 },
  ) {
    this.awareness = new Awareness(doc);
    this.awareness.setLocalState(null);
    this.pending = new PendingUpdates<Peer>(pendingLimits, (expired) => {
      for (const peer of new Set(expired.map((e) => e.sender))) this.askToResync(peer);
    });
    doc.on('update', this.handleUpdate);
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

  /** From now on what this process accepts goes to the other processes too (see `publish`). */
  attachChannel(channel: RoomChannel): void {
    this.channel = channel;
  }

  broadcast(message: Uint8Array, except?: object | null): void {
    for (const peer of this.connections) if (peer !== except) peer.send(message);
  }

  private readonly handleUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === ORIGINS.load) return;
    if (this.captured) this.captured.push([update, origin]);
    else this.publish(update, origin);
  };

  private publish(update: Uint8Array, origin: unknown): void {
    this.broadcast(encodeUpdate(update), originConnection(origin));
    // Another process's update was validated and is stored there: it only has to reach our clients.
    if (origin !== ORIGINS.remote) {
      this.channel?.publishUpdate(update);
      this.log.push(update);
    } else {
      this.log.noteRemote();
    }
    this.onUpdate(update, origin);
  }

  /** Updates were stored the other processes have not received yet: keep the room loaded until it re-synced. */
  get awaitingResync(): boolean {
    return this.channel?.unpublished ?? false;
  }

  /**
   * After the room bus was unreachable: the whole document to the other processes, and to the
   * log as well when `store` (see RoomChannelListener.resync). Our clients have it already.
   */
  resyncShared(store: boolean): void {
    const state = Y.encodeStateAsUpdate(this.doc);
    this.channel?.publishUpdate(state);
    if (store) this.log.push(state);
  }

  /**
   * An update another process accepted: applied and sent to this process's clients, neither
   * stored nor published again. Throws DocumentPoisonedError when Yjs throws (reload the room).
   */
  applyRemoteUpdate(update: Uint8Array): void {
    this.atomically(() => Y.applyUpdate(this.doc, update, ORIGINS.remote));
  }

  /**
   * Awareness of another process's clients, shown to ours. A client id one of our connections
   * speaks for changes hands only to the same member (the client moved there): another member
   * claiming it over there, before that process learnt whose it is, is refused here.
   */
  applyRemoteAwareness(update: Uint8Array): void {
    const kept = keepAwarenessEntries(update, (clientId, state) => {
      const owner = this.awarenessOwners.get(clientId);
      return !owner || (owner.memberId !== undefined && memberIdOf(state) === owner.memberId);
    });
    if (kept) applyAwarenessUpdate(this.awareness, kept, ORIGINS.remote);
  }

  /**
   * Applies a validated client update. What it changes is broadcast and logged only once Yjs has
   * finished without throwing; if Yjs throws (or leaves a transaction open) nothing of it is
   * published and DocumentPoisonedError tells the caller to reload the room. Client ids the update
   * introduces are attributed to `author` (only the server writes `authors`).
   */
  applyClientUpdate(update: Uint8Array, origin: Peer, author: AuthorEntry, newClients: number[]): boolean {
    this.atomically(() => Y.applyUpdate(this.doc, update, origin.origin), origin);
    // The guard lets through only what integrates completely; anything Yjs still parks means the
    // guard and Yjs disagree, and parked structs would otherwise be persisted and sent to joiners.
    const store = this.doc.store;
    const leftover = store.pendingStructs !== null || store.pendingDs !== null;
    store.pendingStructs = null;
    store.pendingDs = null;
    this.recordAuthors(author, newClients);
    return leftover;
  }

  /** Runs `change`, publishing its updates only if Yjs finished cleanly (else the room is poisoned). */
  private atomically(change: () => void, offender?: Peer): void {
    if (this.poisoned) throw new DocumentPoisonedError(this.roomId, new Error('room is being reloaded'));
    const captured: Array<[Uint8Array, unknown]> = [];
    this.captured = captured;
    try {
      change();
      if (this.doc._transaction !== null) throw new Error('transaction left open');
    } catch (err) {
      this.poisoned = true;
      throw new DocumentPoisonedError(this.roomId, err, offender);
    } finally {
      this.captured = null;
    }
    for (const [u, o] of captured) this.publish(u, o);
  }

  /** Drops the peer's parked updates and asks it to send what the room lacks. */
  askToResync(peer: Peer): void {
    this.pending.dropFrom(peer);
    if (this.connections.has(peer)) peer.requestResync(encodeSyncStep1(this.doc));
  }

  /** `ownerOf` bound once per room, for the update guard (no closure per update). */
  readonly ownerOfClient = (client: number): ClientOwner => this.ownerOf(client);

  /** Client id → who may write as it: the agent's and the server's own ids are the server's. */
  ownerOf(client: number): ClientOwner {
    if (client === this.doc.clientID) return { kind: 'server' };
    const entry = authorsOf(this.doc).get(String(client));
    if (!entry) return { kind: 'none' };
    return entry.kind === 'agent' ? { kind: 'server' } : { kind: 'member', memberId: entry.memberId };
  }

  private recordAuthors(author: AuthorEntry, clients: number[]): void {
    const authors = authorsOf(this.doc);
    const missing = clients.filter((c) => this.doc.store.clients.has(c) && !authors.has(String(c)));
    if (missing.length === 0) return;
    this.doc.transact(() => {
      for (const client of missing) authors.set(String(client), author);
    }, ORIGINS.authors);
  }

  private readonly handleAwareness = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    const peer = originConnection(origin) as Peer | null;
    const owner = peer && this.connections.has(peer) ? peer : null;
    for (const id of added.concat(updated)) {
      const previous = this.awarenessOwners.get(id);
      if (origin === ORIGINS.remote) {
        // The client now speaks through another process (it reconnected there): ours lets go,
        // so closing our old connection does not remove the state it has there.
        previous?.awarenessIds.delete(id);
        this.awarenessOwners.set(id, null);
        this.remoteAwareness.add(id);
      } else if (owner && previous !== owner) {
        this.remoteAwareness.delete(id);
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
      this.remoteAwareness.delete(id);
    }
    const changed = added.concat(updated, removed);
    if (changed.length === 0) return;
    this.broadcast(encodeAwareness(this.awareness, changed));
    // Every process times out stale states itself ('timeout'), and remote changes came from the bus.
    if (origin !== ORIGINS.remote && origin !== 'timeout') this.channel?.publishAwareness(encodeAwarenessUpdate(this.awareness, changed));
  };

  /**
   * Whether `peer` may set the awareness state of `clientId`: its own, one nobody holds, one its
   * member's older connection holds here, or one its member holds through another process (the
   * member moved; that process set `user.memberId` from the token).
   */
  mayControlAwareness(peer: Peer, clientId: number): boolean {
    if (clientId === this.doc.clientID) return false;
    const owner = this.awarenessOwners.get(clientId);
    if (owner === null && this.remoteAwareness.has(clientId)) {
      return peer.memberId !== undefined && memberIdOf(this.awareness.getStates().get(clientId)) === peer.memberId;
    }
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

  /** Makes the document's content equal to `state`'s, as new updates every client receives. */
  restore(state: Uint8Array): void {
    const version = new Y.Doc({ gc: false });
    Y.applyUpdate(version, state);
    try {
      this.atomically(() => replaceContent(this.doc, version, ORIGINS.restore));
    } finally {
      version.destroy();
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.channel?.close();
    this.doc.off('update', this.handleUpdate);
    this.pending.clear();
    this.awareness.off('update', this.handleAwareness);
    this.awareness.destroy();
    this.doc.destroy();
    this.connections.clear();
  }
}
