import { useEffect, useState, useSyncExternalStore } from 'react';
import { allowanceText } from '../lib/allowance';
import { useRoom } from './RoomContext';

/** "N AI requests left · resets in …" for a student, live from the server's `ai:allowance`. */
export function RequestsLeft() {
  const { conn } = useRoom();
  const received = useSyncExternalStore(conn.allowance.subscribe, conn.allowance.get);
  const [now, setNow] = useState(() => Date.now());
  const text = received ? allowanceText(received, now) : null;
  // Tick only while a reset time is shown.
  const counting = text?.resets != null;
  useEffect(() => {
    if (!counting) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [counting]);
  useEffect(() => setNow(Date.now()), [received]);
  if (!received || !text) return null;
  return (
    <p className="requests-left muted" role="status" aria-live="polite" data-testid="requests-left" data-left={received.allowance.left}>
      {text.left}
      {text.resets && <span data-testid="requests-reset"> · {text.resets}</span>}
    </p>
  );
}
