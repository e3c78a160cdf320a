import { useCallback, useEffect, useState } from 'react';
import { Lobby } from './components/Lobby';
import { Room } from './components/Room';
import { forgetRoom, myRoom, rememberRoom, roomIdFromPath, roomPath } from './lib/my-rooms';
import { clearSession, joinCodeFromSearch, loadSession, saveSession, type Session } from './lib/session';

/** The session this tab opens with: the room its URL names (if this browser is in it), else the tab's own. */
function initialSession(): { session: Session | null; notice: string | null } {
  const roomId = roomIdFromPath(window.location.pathname);
  const own = loadSession(window.sessionStorage);
  if (!roomId) return { session: own, notice: null };
  if (own?.room.id === roomId) return { session: own, notice: null };
  const mine = myRoom(window.localStorage, roomId);
  if (mine) return { session: { room: mine.room, member: mine.member, token: mine.token }, notice: null };
  return { session: null, notice: 'This browser has not joined that room yet. Join it with its code.' };
}

export function App() {
  const [start] = useState(initialSession);
  const [session, setSession] = useState<Session | null>(start.session);
  const [leftMessage, setLeftMessage] = useState<string | null>(start.notice);

  // The address names the room, so a reload, a new tab or a shared deep link opens it.
  useEffect(() => {
    const want = session ? roomPath(session.room.id) : '/';
    if (window.location.pathname !== want || (session && window.location.search)) window.history.replaceState(null, '', want + (session ? '' : window.location.search));
    if (session) {
      saveSession(window.sessionStorage, session);
      rememberRoom(window.localStorage, session);
    }
  }, [session]);

  useEffect(() => {
    const onPop = () => {
      const s = initialSession();
      setSession(s.session);
      setLeftMessage(s.notice);
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const enter = useCallback((next: Session) => {
    setLeftMessage(null);
    setSession(next);
  }, []);

  const leave = useCallback((message?: string) => {
    // A message means the server refused this member (removed, room gone): drop it from "My rooms" too.
    if (message) {
      const current = loadSession(window.sessionStorage);
      if (current) forgetRoom(window.localStorage, current.room.id);
    }
    clearSession(window.sessionStorage);
    setSession(null);
    setLeftMessage(message ?? null);
  }, []);

  if (!session) return <Lobby initialJoinCode={joinCodeFromSearch(window.location.search)} onEnter={enter} notice={leftMessage} />;
  return <Room key={session.room.id + session.member.id} session={session} onLeave={leave} />;
}
