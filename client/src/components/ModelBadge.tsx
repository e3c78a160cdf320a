import { useEffect, useState } from 'react';
import { agentModel, describeModel } from '../lib/model';
import { presenceList } from '../lib/presence';
import { useRoom } from './RoomContext';

/** Which model is serving the room (from the AI agent's presence), and a note when it is the built-in demo model. */
export function ModelBadge() {
  const { conn } = useRoom();
  const [model, setModel] = useState<string | undefined>(undefined);
  useEffect(() => {
    const awareness = conn.provider.awareness;
    const update = () => setModel(agentModel(presenceList(awareness.getStates() as Map<number, Record<string, unknown>>, awareness.clientID)));
    update();
    awareness.on('change', update);
    return () => awareness.off('change', update);
  }, [conn]);
  if (model === undefined) return null;
  const label = describeModel(model);
  return (
    <p className={`muted small model-badge${label.demo ? ' demo' : ''}`} data-testid="ai-model" data-model={label.id} data-demo={label.demo ? 'true' : 'false'}>
      {label.text}
    </p>
  );
}
