import { BUILT_IN_TEXT_MODEL } from '@ensemble/shared';
import type { PresenceEntry } from './presence';

export interface ModelLabel {
  /** The model id as the server names it ('' when no AI is present). */
  id: string;
  /** The small built-in demo model serves the room. */
  demo: boolean;
  /** One line for the UI. */
  text: string;
}

/** The text model serving the room, from the AI agent's presence (undefined while it has not appeared). */
export function agentModel(entries: readonly PresenceEntry[]): string | undefined {
  return entries.find((e) => e.isAgent && e.model)?.model;
}

/** How the UI names the model serving the room, saying so when it is the built-in demo model. */
export function describeModel(model: string | undefined): ModelLabel {
  const id = model?.trim() ?? '';
  if (!id || id === 'none') return { id: '', demo: false, text: 'No text model is serving this room.' };
  if (id === BUILT_IN_TEXT_MODEL) {
    return { id, demo: true, text: `Model: ${id} — the small built-in demo model; expect rough, often odd text.` };
  }
  return { id, demo: false, text: `Model: ${id}` };
}
