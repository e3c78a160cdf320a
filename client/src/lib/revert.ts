import type { RevertResult } from '@ensemble/shared';
import type { RoomConnection } from '../collab/connection';
import { describeAckError } from './format';

/** Asks the server to take an accepted proposal's AI text back out; says why when it cannot. */
export async function revertProposal(conn: RoomConnection, proposalId: string, notify: (text: string) => void): Promise<boolean> {
  const res = await conn.call<RevertResult, 'proposal:revert'>('proposal:revert', { proposalId }, 30000);
  if (!res.ok) notify(`Undo accept: ${describeAckError(res.error)}`);
  return res.ok;
}
