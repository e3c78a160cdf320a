import { useEffect, useState } from 'react';
import { agentStateLabel, initials } from '../lib/format';
import { presenceList, type PresenceEntry } from '../lib/presence';
import { useRoom } from './RoomContext';

export function PresenceBar() {
  const { conn } = useRoom();
  const [entries, setEntries] = useState<PresenceEntry[]>([]);
  useEffect(() => {
    const awareness = conn.provider.awareness;
    const update = () => setEntries(presenceList(awareness.getStates() as Map<number, Record<string, unknown>>, awareness.clientID));
    update();
    awareness.on('change', update);
    return () => awareness.off('change', update);
  }, [conn]);

  return (
    <ul className={`presence ${entries.length > 4 ? 'compact' : ''}`} aria-label={`People in this room (${entries.length})`} data-testid="presence">
      {entries.map((e) => (
        <li
          key={e.clientId}
          className={`person ${e.isAgent ? `agent agent-${e.agentState ?? 'idle'}` : ''}`}
          title={e.isAgent ? `${e.name} (AI${e.model ? ` · ${e.model}` : ''}) — ${agentStateLabel(e.agentState)}` : `${e.name}${e.isSelf ? ' (you)' : ''}${e.role ? ` · ${e.role}` : ''}`}
          data-testid={e.isAgent ? 'presence-agent' : 'presence-person'}
          data-agent-state={e.agentState}
        >
          <span className="avatar" style={{ background: e.color }} aria-hidden="true">
            {e.isAgent ? 'AI' : initials(e.name)}
          </span>
          <span className="person-name">
            {e.name}
            {e.isSelf && <span className="muted"> (you)</span>}
            {e.role === 'viewer' && <span className="muted"> · viewer</span>}
            {e.isAgent && <span className="agent-state"> · {agentStateLabel(e.agentState)}</span>}
          </span>
        </li>
      ))}
    </ul>
  );
}
