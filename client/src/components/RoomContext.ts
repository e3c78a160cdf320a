import { createContext, useContext } from 'react';
import type { Editor } from '@tiptap/core';
import type { ProposalMode, Room } from '@ensemble/shared';
import type { RoomConnection } from '../collab/connection';
import type { CommentDraft } from '../lib/comments';
import type { ProposalAction, ProposalsState } from '../lib/proposals';
import type { Session } from '../lib/session';

export interface AskOptions {
  mode: ProposalMode;
  instruction?: string;
  alternatives: number;
}

export interface RoomContextValue {
  session: Session;
  room: Room;
  conn: RoomConnection;
  canEdit: boolean;
  isOwner: boolean;
  proposals: ProposalsState;
  dispatch: (action: ProposalAction) => void;
  notify: (text: string, tone?: 'error' | 'info') => void;
  editor: Editor | null;
  /** Asks the agent from the current cursor. Resolves to the proposal id, or null after notifying. */
  ask: (options: AskOptions) => Promise<string | null>;
  /** Member id → display name (authors map, presence, the proposal requester). */
  nameOf: (memberId: string) => string;
  /** What Ctrl/Cmd+Enter does (the AI panel sets it to "ask with the current settings"). */
  shortcut: { current: () => void };
  /**
   * The proposal this member accepted last, while they have made no local edit since: Ctrl/Cmd+Z
   * in the editor then undoes that accept (`proposal:revert`) instead of their own earlier typing.
   */
  lastAccept: { current: string | null };
  /** The comment being written on a passage (the toolbar's "Comment" starts it, the comments panel posts it). */
  commentDraft: CommentDraft | null;
  setCommentDraft: (draft: CommentDraft | null) => void;
  /** The comment thread selected in the panel or by clicking its passage. */
  activeThread: string | null;
  setActiveThread: (threadId: string | null) => void;
}

export const RoomContext = createContext<RoomContextValue | null>(null);

export function useRoom(): RoomContextValue {
  const ctx = useContext(RoomContext);
  if (!ctx) throw new Error('useRoom outside a room');
  return ctx;
}
