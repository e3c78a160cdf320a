import { useEffect, useState, type FormEvent } from 'react';
import { BlockedWord, MAX_BLOCKED_WORDS, type ModerationFlag, type Room } from '@ensemble/shared';
import { api, ApiRequestError } from '../lib/api';
import { useRoom } from './RoomContext';

const WHERE: Record<ModerationFlag['where'], string> = {
  story: 'story',
  'bible:characters': 'bible · characters',
  'bible:setting': 'bible · setting',
  'bible:tone': 'bible · tone',
};

/**
 * The owner's moderation: the room's own word list (added to the server's; applies at once to AI
 * text, instructions and flags) and, in classrooms, the live list of members' text with a listed
 * word ("Flagged": who, where, the word — flagged, never blocked).
 */
export function Flags({ onRoom }: { onRoom: (update: (room: Room) => Room) => void }) {
  const { conn, room, session, notify } = useRoom();
  const [flags, setFlags] = useState<ModerationFlag[]>([]);
  const [word, setWord] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const words = room.settings.blockedWords ?? [];
  const classroom = room.kind === 'classroom';

  useEffect(() => {
    if (!classroom) return;
    const s = conn.socket;
    const onFlag = (f: ModerationFlag) => setFlags((list) => [f, ...list.filter((x) => x.id !== f.id)].slice(0, 200));
    const load = async () => {
      const res = await conn.call<{ flags: ModerationFlag[] }, 'moderation:flags'>('moderation:flags', {});
      if (res.ok) setFlags(res.flags);
    };
    s.on('moderation:flagged', onFlag);
    s.on('connect', load);
    if (s.connected) void load();
    return () => {
      s.off('moderation:flagged', onFlag);
      s.off('connect', load);
    };
  }, [conn, classroom]);

  const save = async (next: string[]) => {
    setSaving(true);
    try {
      const settings = await api.updateSettings(room.id, session.token, { blockedWords: next });
      onRoom((r) => ({ ...r, settings: settings ?? { ...r.settings, blockedWords: next } }));
      return true;
    } catch (err) {
      notify(`Word list: ${err instanceof ApiRequestError ? err.message : 'something went wrong.'}`);
      return false;
    } finally {
      setSaving(false);
    }
  };
  const add = async (e: FormEvent) => {
    e.preventDefault();
    const parsed = BlockedWord.safeParse(word);
    if (!parsed.success) return setError(parsed.error.issues[0]?.message ?? 'not a word');
    if (words.includes(parsed.data)) return setError('already on the list');
    if (words.length >= MAX_BLOCKED_WORDS) return setError(`at most ${MAX_BLOCKED_WORDS} words`);
    setError(null);
    if (await save([...words, parsed.data])) setWord('');
  };

  return (
    <section className="card flags" aria-labelledby="flags-title" data-testid="flags">
      <h2 id="flags-title">Moderation</h2>
      <form className="row" onSubmit={add} aria-label="Add a word to the room's list">
        <input value={word} onChange={(e) => setWord(e.target.value)} maxLength={40} placeholder="Add a word or phrase" aria-label="Word to add" data-testid="word-input" aria-invalid={error ? 'true' : 'false'} />
        <button type="submit" disabled={saving || !word.trim()} data-testid="word-add">
          Add word
        </button>
        {error && (
          <span className="form-error" role="alert">
            {error}
          </span>
        )}
      </form>
      <p className="muted small">
        The room’s own words, on top of the built-in list: AI text with them is dropped, instructions with them refused{classroom ? ', and students’ text with them flagged here' : ''}.
      </p>
      <ul className="word-list" data-testid="word-list">
        {words.map((w) => (
          <li key={w} className="pill">
            {w}{' '}
            <button type="button" className="ghost small" aria-label={`Remove word ${w}`} disabled={saving} onClick={() => void save(words.filter((x) => x !== w))}>
              ×
            </button>
          </li>
        ))}
        {words.length === 0 && <li className="muted small">No words of your own yet.</li>}
      </ul>
      {classroom && (
        <>
          <h3>Flagged</h3>
          {flags.length === 0 ? (
            <p className="muted small">Nothing flagged. Words from the lists that students type into the story or bible show here at once.</p>
          ) : (
            <table className="prov-table" data-testid="flag-list">
              <thead>
                <tr>
                  <th scope="col">Who</th>
                  <th scope="col">Where</th>
                  <th scope="col">Word</th>
                  <th scope="col">In</th>
                  <th scope="col">When</th>
                </tr>
              </thead>
              <tbody>
                {flags.map((f) => (
                  <tr key={f.id} data-testid="flag">
                    <th scope="row">{f.displayName}</th>
                    <td>{WHERE[f.where]}</td>
                    <td>
                      <strong>{f.word}</strong>
                    </td>
                    <td className="muted">{f.excerpt}</td>
                    <td className="muted small">{new Date(f.at).toLocaleTimeString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
