import { useCallback, useState } from 'react';
import { Lobby } from './components/Lobby';
import { Room } from './components/Room';
import { clearSession, joinCodeFromSearch, loadSession, saveSession, type Session } from './lib/session';

export function App() {
  const [session, setSession] = useState<Session | null>(() => loadSession(window.sessionStorage));
  const [leftMessage, setLeftMessage] = useState<string | null>(null);

  const enter = useCallback((next: Session) => {
    saveSession(window.sessionStorage, next);
    // Drop ?join=… so a reload resumes the session instead of joining again.
    if (window.location.search) window.history.replaceState(null, '', '/');
    setLeftMessage(null);
    setSession(next);
  }, []);

  const leave = useCallback((message?: string) => {
    clearSession(window.sessionStorage);
    setSession(null);
    setLeftMessage(message ?? null);
  }, []);

  if (!session) return <Lobby initialJoinCode={joinCodeFromSearch(window.location.search)} onEnter={enter} notice={leftMessage} />;
  return <Room key={session.room.id + session.member.id} session={session} onLeave={leave} />;
}
