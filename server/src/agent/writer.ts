import * as Y from 'yjs';
import { ORIGINS } from '../ports';
import { AGENT_DISPLAY_NAME, AGENT_MEMBER_ID, authorsOf, type AuthorEntry } from '@ensemble/shared';

/** A fresh random Yjs client id, unused in `doc`. */
function freshClientId(doc: Y.Doc): number {
  let id: number;
  do id = 1 + Math.floor(Math.random() * 0x7ffffffe);
  while (doc.store.clients.has(id) || id === doc.clientID);
  return id;
}

/**
 * Runs `edit` on a copy of `roomDoc` as Yjs client `clientID`, recorded in `authors` as `entry`,
 * and applies the result to the room document with origin ORIGINS.agent (the sync layer
 * broadcasts and persists it like any other update). Synchronous, so the copy equals the room
 * document while the edit is made.
 */
function editAsClient<T>(roomDoc: Y.Doc, clientID: number, entry: AuthorEntry, edit: (doc: Y.Doc) => T): T {
  const scratch = new Y.Doc({ gc: false });
  try {
    Y.applyUpdate(scratch, Y.encodeStateAsUpdate(roomDoc));
    // Only now: had the scratch doc had this id while loading the client's earlier text, Yjs would
    // have switched it to a random one, and the edit would land under an unattributed client.
    scratch.clientID = clientID;
    const before = Y.encodeStateVector(roomDoc);
    let result!: T;
    scratch.transact(() => {
      const authors = authorsOf(scratch);
      const key = String(clientID);
      if (!authors.has(key)) authors.set(key, entry);
      result = edit(scratch);
    });
    const update = Y.encodeStateAsUpdate(scratch, before);
    Y.applyUpdate(roomDoc, update, ORIGINS.agent);
    return result;
  } finally {
    scratch.destroy();
  }
}

/**
 * Writes into a room's document as the agent's own Yjs client. Yjs fixes the client id per Y.Doc,
 * so each edit is made on a scratch Y.Doc whose clientID is the agent's (editAsClient).
 *
 * The agent gets a fresh random client id per loaded room (never reused across restarts, so a
 * crash can never make two different edits share ids); each one is recorded in the `authors` map
 * with kind 'agent'.
 */
export class AgentWriter {
  readonly clientID: number;

  constructor(
    private readonly roomDoc: Y.Doc,
    private readonly displayName = AGENT_DISPLAY_NAME,
  ) {
    this.clientID = freshClientId(roomDoc);
  }

  /** Runs `edit` on a copy of the room document as the agent's client and applies the result. */
  edit<T>(edit: (doc: Y.Doc) => T): T {
    return editAsClient(this.roomDoc, this.clientID, { memberId: AGENT_MEMBER_ID, displayName: this.displayName, kind: 'agent' }, edit);
  }
}

/**
 * Puts a member's own words back on their behalf (undoing a rewrite's accept restores the passage
 * it replaced): a fresh client id recorded in `authors` as that member, so provenance still counts
 * the text as theirs and never as the agent's.
 */
export function writeOnBehalfOf<T>(roomDoc: Y.Doc, author: { memberId: string; displayName: string }, edit: (doc: Y.Doc) => T): T {
  return editAsClient(roomDoc, freshClientId(roomDoc), { memberId: author.memberId, displayName: author.displayName, kind: 'human' }, edit);
}
