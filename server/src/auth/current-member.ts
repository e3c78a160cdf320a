import type { TokenClaims } from '@ensemble/shared';
import type { RoomStore } from '../storage/store';

/**
 * The token's claims as the room knows the member now: null when their row is gone (removed by
 * the owner), otherwise with the stored role and name. A token alone never proves membership.
 */
export async function currentMember(store: Pick<RoomStore, 'getMember'>, claims: TokenClaims): Promise<TokenClaims | null> {
  const member = await store.getMember(claims.roomId, claims.memberId);
  if (!member) return null;
  return { ...claims, role: member.role, displayName: member.displayName };
}
