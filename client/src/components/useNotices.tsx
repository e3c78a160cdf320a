import { useCallback, useRef, useState } from 'react';
import { X } from 'lucide-react';

export interface Notice {
  id: number;
  text: string;
  tone: 'error' | 'info';
}

/** Messages shown to the person (errors in words, never only in the console). */
export function useNotices(timeoutMs = 9000) {
  const [notices, setNotices] = useState<Notice[]>([]);
  const next = useRef(1);
  const dismiss = useCallback((id: number) => setNotices((list) => list.filter((n) => n.id !== id)), []);
  const notify = useCallback(
    (text: string, tone: Notice['tone'] = 'error') => {
      const id = next.current++;
      setNotices((list) => [...list.filter((n) => n.text !== text), { id, text, tone }].slice(-4));
      window.setTimeout(() => dismiss(id), tone === 'error' ? timeoutMs * 1.5 : timeoutMs);
    },
    [dismiss, timeoutMs],
  );
  return { notices, notify, dismiss };
}

export function Notices({ notices, dismiss }: { notices: Notice[]; dismiss: (id: number) => void }) {
  return (
    <div className="notices" role="region" aria-label="Messages">
      <div aria-live="assertive" role="alert">
        {notices.map((n) => (
          <div key={n.id} className={`notice notice-${n.tone}`} data-testid={`notice-${n.tone}`}>
            <span>{n.text}</span>
            <button type="button" className="icon-button" aria-label="Dismiss message" onClick={() => dismiss(n.id)}>
              <X size={16} aria-hidden="true" />
            </button>
          </div>
        ))}
      </div>
    </div>
  );
}
