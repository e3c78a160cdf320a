import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { AGENT_COLOR, AGENT_DISPLAY_NAME, AGENT_MEMBER_ID, type AgentState, type PresenceUser } from '@ensemble/shared';
import { ORIGINS } from '../ports';

/**
 * The agent's entry in a room's Yjs awareness. Awareness states are keyed by Y.Doc client id, and
 * the room's awareness object belongs to the server's doc, so the agent keeps its own Awareness on
 * a private Y.Doc whose clientID is the agent's, and forwards every update of it (including the
 * periodic renewal y-protocols does every 15 s) into the room's awareness with
 * `applyAwarenessUpdate`. The sync layer broadcasts the room awareness's updates to every client.
 */
export class AgentPresence {
  private readonly doc: Y.Doc;
  private readonly own: Awareness;
  private state: AgentState = 'idle';
  private readonly forward = (changes: { added: number[]; updated: number[]; removed: number[] }): void => {
    const ids = [...changes.added, ...changes.updated, ...changes.removed];
    if (ids.length === 0) return;
    applyAwarenessUpdate(this.room, encodeAwarenessUpdate(this.own, ids), ORIGINS.agent);
  };

  constructor(
    private readonly room: Awareness,
    clientID: number,
    private readonly model: string,
  ) {
    this.doc = new Y.Doc();
    this.doc.clientID = clientID;
    this.own = new Awareness(this.doc);
    this.own.on('update', this.forward);
    this.publish();
  }

  set(state: AgentState): void {
    if (state === this.state) return;
    this.state = state;
    this.publish();
  }

  private publish(): void {
    const user: PresenceUser = {
      name: AGENT_DISPLAY_NAME,
      color: AGENT_COLOR,
      memberId: AGENT_MEMBER_ID,
      agent: { state: this.state, model: this.model },
    };
    this.own.setLocalState({ user });
  }

  /** Leaves the room's awareness (removal is broadcast) and stops renewing. */
  dispose(): void {
    this.own.setLocalState(null);
    this.own.off('update', this.forward);
    this.own.destroy();
    this.doc.destroy();
  }
}
