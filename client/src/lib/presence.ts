import type { AgentState, PresenceUser, Role } from '@ensemble/shared';
import { isHexColor } from './colors';

export interface PresenceEntry {
  clientId: number;
  name: string;
  color: string;
  memberId?: string;
  role?: Role;
  isAgent: boolean;
  agentState?: AgentState;
  model?: string;
  isSelf: boolean;
}

/**
 * Awareness states → presence list: the AI agent first, then me, then the others by name. The same
 * member in several tabs appears once.
 */
export function presenceList(states: Map<number, Record<string, unknown>>, selfClientId: number): PresenceEntry[] {
  const entries: PresenceEntry[] = [];
  const seenMembers = new Set<string>();
  for (const [clientId, state] of states) {
    const user = state.user as Partial<PresenceUser> | undefined;
    if (!user || typeof user.name !== 'string') continue;
    const isSelf = clientId === selfClientId;
    const key = user.memberId ? `${user.memberId}` : '';
    if (key && seenMembers.has(key) && !isSelf) continue;
    if (key) seenMembers.add(key);
    const entry: PresenceEntry = {
      clientId,
      name: user.name,
      color: isHexColor(user.color) ? user.color : '#868e96',
      isAgent: !!user.agent,
      isSelf,
    };
    if (user.memberId) entry.memberId = user.memberId;
    if (user.role) entry.role = user.role;
    if (user.agent) {
      entry.agentState = user.agent.state;
      entry.model = user.agent.model;
    }
    entries.push(entry);
  }
  const rank = (e: PresenceEntry): number => (e.isAgent ? 0 : e.isSelf ? 1 : 2);
  return entries.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}
