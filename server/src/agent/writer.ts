import * as Y from 'yjs';
import { ORIGINS } from '../ports';
import { AGENT_DISPLAY_NAME, AGENT_MEMBER_ID, authorsOf, type AuthorEntry } from '@ensemble/shared';


/**
 * Writes into a room's document as the agent's own Yjs client. Yjs fixes the client id per Y.Doc,
 * so each edit is made on a scratch Y.Doc whose clientID is the agent's: the room's state is
 * applied to it, the edit is made there, and the resulting update is applied to the room document
 * (the sync layer broadcasts and persists it like any other update). Everything runs synchronously,
 * so the scratch copy equals the room document while the edit is made.
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
    let id: number;
    do id = 1 + Math.floor(Math.random() * 0x7ffffffe);
    while (roomDoc.store.clients.has(id) || id === roomDoc.clientID);
    this.clientID = id;
  }

  /** Runs `edit` on a copy of the room document as the agent's client and applies the result. */
  edit<T>(edit: (doc: Y.Doc) => T): T {
    const scratch = new Y.Doc({ gc: false });
    try {
      Y.applyUpdate(scratch, Y.encodeStateAsUpdate(this.roomDoc));
      // Only now: had the scratch doc had this id while loading the agent's earlier text, Yjs would
      // have switched it to a random one, and the edit would land under an unattributed client.
      scratch.clientID = this.clientID;
      const before = Y.encodeStateVector(this.roomDoc);
      let result!: T;
      scratch.transact(() => {
        const authors = authorsOf(scratch);
        const key = String(this.clientID);
        if (!authors.has(key)) {
          const entry: AuthorEntry = { memberId: AGENT_MEMBER_ID, displayName: this.displayName, kind: 'agent' };
          authors.set(key, entry);
        }
        result = edit(scratch);
      });
      const update = Y.encodeStateAsUpdate(scratch, before);
      Y.applyUpdate(this.roomDoc, update, ORIGINS.agent);
      return result;
    } finally {
      scratch.destroy();
    }
  }
}
