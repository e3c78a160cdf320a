import { ErrorBoundary } from './ErrorBoundary';
import { useCallback, useEffect, useMemo, useReducer, useRef, useState, useSyncExternalStore } from 'react';
import type { Editor } from '@tiptap/core';
import { authorsOf, type ProposalInfo, type ProposalSnapshot, type Room as RoomInfo, type ServerToClientEvents } from '@ensemble/shared';
import { RoomConnection } from '../collab/connection';
import { api, ApiRequestError } from '../lib/api';
import { selectionAnchors } from '../lib/anchor';
import type { CommentDraft } from '../lib/comments';
import { connectionLabel, describeAckError } from '../lib/format';
import { initialProposalsState, proposalsReducer } from '../lib/proposals';
import { canEdit as roleCanEdit, shareLink, type Session } from '../lib/session';
import { AiPanel } from './AiPanel';
import { BiblePanel } from './BiblePanel';
import { CommentsPanel } from './CommentsPanel';
import { Dashboard } from './Dashboard';
import { ExportMenu } from './ExportMenu';
import { PresenceBar } from './PresenceBar';
import { Recommendations } from './Recommendations';
import { RoomContext, type AskOptions, type RoomContextValue } from './RoomContext';
import { Storyboard } from './Storyboard';
import { StoryboardSide } from './StoryboardSide';
import { StoryPane } from './StoryPane';
import { Notices, useNotices } from './useNotices';
import { Versions } from './Versions';

type Tab = 'story' | 'storyboard' | 'dashboard';

const KIND_LABEL: Record<RoomInfo['kind'], string> = { 'writers-room': "Writers' room", classroom: 'Classroom', storyboard: 'Storyboard' };

export function Room({ session, onLeave }: { session: Session; onLeave: (message?: string) => void }) {
  const [conn, setConn] = useState<RoomConnection | null>(null);
  useEffect(() => {
    const c = new RoomConnection(session);
    setConn(c);
    return () => c.destroy();
  }, [session]);
  if (!conn) return null;
  return <RoomView session={session} conn={conn} onLeave={onLeave} />;
}

function RoomView({ session, conn, onLeave }: { session: Session; conn: RoomConnection; onLeave: (message?: string) => void }) {
  const [room, setRoom] = useState<RoomInfo>(session.room);
  const [proposals, dispatch] = useReducer(proposalsReducer, initialProposalsState);
  const [editor, setEditor] = useState<Editor | null>(null);
  const [tab, setTab] = useState<Tab>(session.room.kind === 'storyboard' ? 'storyboard' : 'story');
  const { notices, notify, dismiss } = useNotices();
  const status = useSyncExternalStore(conn.subscribe, conn.getSnapshot);
  const canEdit = roleCanEdit(session.member.role);
  const isOwner = session.member.role === 'owner';

  // Fresh room info (settings) and a token check.
  useEffect(() => {
    let live = true;
    api.getRoom(room.id, session.token).then(
      (fresh) => live && setRoom(fresh),
      (err: unknown) => {
        if (!live) return;
        const revoked = err instanceof ApiRequestError && (err.status === 401 || err.status === 404 || err.code === 'not_a_member');
        if (revoked) onLeave(err.message);
        else if (err instanceof ApiRequestError) notify(err.message);
      },
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [room.id, session.token]);

  // Names for member ids: authors map in the doc, presence, requesters.
  const names = useRef(new Map<string, string>([[session.member.id, session.member.displayName]]));
  useEffect(() => {
    const authors = authorsOf(conn.doc);
    const refresh = () => {
      for (const entry of authors.values()) if (entry?.memberId) names.current.set(entry.memberId, entry.displayName);
    };
    const onAwareness = () => {
      for (const state of conn.provider.awareness.getStates().values()) {
        const user = state.user as { memberId?: string; name?: string } | undefined;
        if (user?.memberId && user.name) names.current.set(user.memberId, user.name);
      }
    };
    refresh();
    authors.observe(refresh);
    conn.provider.awareness.on('change', onAwareness);
    return () => {
      authors.unobserve(refresh);
      conn.provider.awareness.off('change', onAwareness);
    };
  }, [conn]);
  const nameOf = useCallback((id: string) => names.current.get(id) ?? id, []);
  const shortcut = useRef<() => void>(() => {});
  const lastAccept = useRef<string | null>(null);
  const [commentDraft, setCommentDraft] = useState<CommentDraft | null>(null);
  const [activeThread, setActiveThread] = useState<string | null>(null);

  // Live AI events → proposal state.
  useEffect(() => {
    const s = conn.socket;
    const onStarted = (p: ProposalInfo) => {
      names.current.set(p.requestedBy.memberId, p.requestedBy.displayName);
      dispatch({ type: 'started', proposal: p });
      const anchor = p.anchor;
      if (typeof anchor === 'string' && anchor) dispatch({ type: 'anchor', proposalId: p.id, anchor });
    };
    // Late joiners (and reconnects) catch up with the proposals still live in the room.
    const catchUp = async () => {
      const res = await conn.call<{ proposals: ProposalSnapshot[] }, 'proposal:list'>('proposal:list', {});
      if (res.ok) dispatch({ type: 'snapshot', snapshots: res.proposals ?? [], authoritative: true });
    };
    const handlers: Partial<{ [E in keyof ServerToClientEvents]: ServerToClientEvents[E] }> = {
      'proposal:started': onStarted,
      'proposal:delta': (delta) => dispatch({ type: 'delta', delta }),
      'proposal:done': (done) => dispatch({ type: 'done', done }),
      'proposal:failed': (failed) => dispatch({ type: 'failed', failed }),
      'proposal:voted': (tally) => dispatch({ type: 'voted', tally }),
      'proposal:accepted': (e) => dispatch({ type: 'accepted', ...e }),
      'proposal:rejected': (e) => dispatch({ type: 'rejected', ...e }),
      'proposal:stopped': (e) => dispatch({ type: 'stopped', ...e }),
      'proposal:reverted': (e) => {
        dispatch({ type: 'reverted', proposalId: e.proposalId, revertedBy: e.revertedBy });
        if (lastAccept.current === e.proposalId) lastAccept.current = null;
      },
      'proposal:ranking': (e) => dispatch({ type: 'ranking', ...e }),
      'image:proposed': (e) => dispatch({ type: 'imagesProposed', ...e }),
      'image:accepted': (e) => dispatch({ type: 'imageAccepted', ...e }),
      'settings:changed': (settings) => setRoom((r) => ({ ...r, settings })),
      'collab:error': (e) => notify(describeAckError(e)),
    };
    const untyped = s as unknown as { on(ev: string, f: (...args: never[]) => void): void; off(ev: string, f: (...args: never[]) => void): void };
    for (const [event, handler] of Object.entries(handlers)) untyped.on(event, handler as (...args: never[]) => void);
    const onConnect = () => void catchUp();
    s.on('connect', onConnect);
    if (s.connected) void catchUp();
    return () => {
      for (const [event, handler] of Object.entries(handlers)) untyped.off(event, handler as (...args: never[]) => void);
      s.off('connect', onConnect);
    };
  }, [conn, notify]);

  useEffect(() => {
    if (status.closedReason) notify(status.closedReason);
  }, [status.closedReason, notify]);

  const ask = useCallback(
    async (options: AskOptions): Promise<string | null> => {
      if (!canEdit) {
        notify('Viewers can watch the AI but not ask it. Join with an editor code to ask.');
        return null;
      }
      if (!editor) {
        notify('The editor is still loading.');
        return null;
      }
      const anchors = selectionAnchors(editor.state);
      if (!anchors) {
        notify('The story is still syncing; try again in a moment.');
        return null;
      }
      const instruction = options.instruction?.trim();
      const res = await conn.call<{ proposal: ProposalInfo }, 'proposal:request'>('proposal:request', {
        anchor: anchors.anchor,
        ...(options.mode === 'rewrite' && anchors.anchorEnd ? { anchorEnd: anchors.anchorEnd } : {}),
        mode: options.mode,
        alternatives: options.alternatives,
        ...(instruction ? { instruction } : {}),
      });
      if (!res.ok) {
        notify(describeAckError(res.error));
        return null;
      }
      dispatch({ type: 'started', proposal: res.proposal });
      dispatch({ type: 'anchor', proposalId: res.proposal.id, anchor: anchors.anchor });
      return res.proposal.id;
    },
    [canEdit, conn, editor, notify],
  );

  const ctx: RoomContextValue = useMemo(
    () => ({
      session,
      room,
      conn,
      canEdit,
      isOwner,
      proposals,
      dispatch,
      notify,
      editor,
      ask,
      nameOf,
      shortcut,
      lastAccept,
      commentDraft,
      setCommentDraft,
      activeThread,
      setActiveThread,
    }),
    [session, room, conn, canEdit, isOwner, proposals, notify, editor, ask, nameOf, commentDraft, activeThread],
  );

  const link = shareLink(window.location.origin, room.joinCode);
  const copyLink = async () => {
    try {
      await navigator.clipboard.writeText(link);
      notify('Share link copied.', 'info');
    } catch {
      notify(`Share this link: ${link}`, 'info');
    }
  };

  const syncState = status.sync;
  const label = status.closedReason ?? connectionLabel(syncState, status.synced, status.pendingLocalEdits);
  const tabs: Array<{ id: Tab; label: string }> = [
    { id: 'story', label: 'Story' },
    { id: 'storyboard', label: 'Storyboard' },
    ...(isOwner ? [{ id: 'dashboard' as const, label: room.kind === 'classroom' ? 'Classroom' : 'Dashboard' }] : []),
  ];

  return (
    <RoomContext.Provider value={ctx}>
      <div className="room" data-testid="room">
        <header className="topbar">
          <div className="topbar-title">
            <span className="brand-mark small" aria-hidden="true" />
            <div>
              <h1 className="room-name">{room.name}</h1>
              <p className="room-meta">
                <span className="badge">{KIND_LABEL[room.kind]}</span>
                <span>
                  You are <strong>{session.member.displayName}</strong> ({session.member.role})
                </span>
              </p>
            </div>
          </div>
          <div className="topbar-share">
            <span className="join-code" aria-label={`Join code ${room.joinCode}`} data-testid="join-code">
              {room.joinCode}
            </span>
            <button type="button" onClick={copyLink} aria-label="Copy share link">
              Copy link
            </button>
            <ExportMenu />
          </div>
          <div className={`conn conn-${status.closedReason ? 'refused' : syncState}`} role="status" aria-live="polite" data-testid="connection-status">
            <span className="dot" aria-hidden="true" />
            <span>{label}</span>
            {status.socket !== 'connected' && !status.closedReason && <span className="conn-ai">· AI channel {status.socketError ? 'unreachable' : status.socket}</span>}
          </div>
          <PresenceBar />
          <button type="button" className="ghost" onClick={() => onLeave()}>
            Leave
          </button>
        </header>
        <Notices notices={notices} dismiss={dismiss} />
        {!canEdit && (
          <p className="viewer-banner" role="note">
            You are watching as a viewer: you see every change live, but cannot write, ask the AI, vote or accept.
          </p>
        )}
        <div className="layout">
          <section className="main-pane">
            <nav
              className="tabs"
              role="tablist"
              aria-label="Views"
              onKeyDown={(e) => {
                if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
                const at = tabs.findIndex((t) => t.id === tab);
                const next = tabs[(at + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length]!;
                setTab(next.id);
                document.getElementById(`tab-${next.id}`)?.focus();
              }}
            >
              {tabs.map((t) => (
                <button
                  key={t.id}
                  role="tab"
                  type="button"
                  id={`tab-${t.id}`}
                  aria-selected={tab === t.id}
                  aria-controls={`panel-${t.id}`}
                  tabIndex={tab === t.id ? 0 : -1}
                  className={tab === t.id ? 'active' : ''}
                  onClick={() => setTab(t.id)}
                >
                  {t.label}
                </button>
              ))}
            </nav>
            <div id="panel-story" role="tabpanel" aria-labelledby="tab-story" hidden={tab !== 'story'}>
              <StoryPane onEditor={setEditor} />
            </div>
            <div id="panel-storyboard" role="tabpanel" aria-labelledby="tab-storyboard" hidden={tab !== 'storyboard'}>
              {tab === 'storyboard' && <Storyboard />}
            </div>
            {isOwner && (
              <div id="panel-dashboard" role="tabpanel" aria-labelledby="tab-dashboard" hidden={tab !== 'dashboard'}>
                {tab === 'dashboard' && <Dashboard onRoom={setRoom} />}
              </div>
            )}
          </section>
          <aside className="side-pane" aria-label="Collaboration tools">
            {/* The side pane fits the view: text AI beside the story, image help beside the storyboard. */}
            {tab === 'storyboard' ? (
              <StoryboardSide />
            ) : (
              <>
                <ErrorBoundary label="AI panel">
                  <AiPanel />
                </ErrorBoundary>
                <Recommendations />
                <ErrorBoundary label="Comments">
                  <CommentsPanel />
                </ErrorBoundary>
              </>
            )}
            <BiblePanel />
            <Versions />
          </aside>
        </div>
      </div>
    </RoomContext.Provider>
  );
}
