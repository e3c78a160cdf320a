import { useEffect, useRef, useState } from 'react';
import { bibleOf, BIBLE_KEYS, type BibleKey } from '@ensemble/shared';
import { BIBLE_LABELS, readBible, writeBible, type Bible } from '../lib/bible';
import { useRoom } from './RoomContext';

/** Story bible bound to the `bible` Y.Map; edits are written after a short pause or on leaving the field. */
export function BiblePanel() {
  const { conn, canEdit } = useRoom();
  const [values, setValues] = useState<Bible>(() => readBible(conn.doc));
  const dirty = useRef(new Set<BibleKey>());
  const timers = useRef(new Map<BibleKey, number>());

  useEffect(() => {
    const map = bibleOf(conn.doc);
    const onChange = () => {
      const remote = readBible(conn.doc);
      setValues((local) => {
        const next = { ...remote };
        for (const key of dirty.current) next[key] = local[key];
        return next;
      });
    };
    onChange();
    map.observe(onChange);
    return () => map.unobserve(onChange);
  }, [conn]);

  const flush = (key: BibleKey, value: string) => {
    const t = timers.current.get(key);
    if (t) window.clearTimeout(t);
    timers.current.delete(key);
    dirty.current.delete(key);
    writeBible(conn.doc, { [key]: value });
  };

  const edit = (key: BibleKey, value: string) => {
    setValues((v) => ({ ...v, [key]: value }));
    dirty.current.add(key);
    const t = timers.current.get(key);
    if (t) window.clearTimeout(t);
    timers.current.set(key, window.setTimeout(() => flush(key, value), 500));
  };

  return (
    <details className="panel bible" open>
      <summary>
        <h2>Story bible</h2>
      </summary>
      <p className="muted small">Shared with the room and with the AI as context.</p>
      {BIBLE_KEYS.map((key) => (
        <label key={key}>
          {BIBLE_LABELS[key].label}
          <textarea
            value={values[key]}
            placeholder={BIBLE_LABELS[key].hint}
            readOnly={!canEdit}
            rows={key === 'characters' ? 4 : 2}
            onChange={(e) => edit(key, e.target.value)}
            onBlur={(e) => dirty.current.has(key) && flush(key, e.target.value)}
            data-testid={`bible-${key}`}
          />
        </label>
      ))}
    </details>
  );
}
