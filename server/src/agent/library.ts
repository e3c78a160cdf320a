import type { TokenClaims } from '@ensemble/shared';
import { currentMember } from '../auth/current-member';
import type { ServerContext } from '../ports';
import type { LibraryPassage } from '../recommendation';
import { readRoomDocument } from '../sync/stored-document';
import { linearizeStory } from './anchor';

export type LibraryLoader = (roomId: string, tokens: string[]) => Promise<LibraryPassage[]>;

/**
 * The recommendation library a member brings: the paragraphs of the other rooms whose tokens they
 * presented (verified, still a member). Loaded rooms are read in place, others from the store.
 */
export function createLibraryLoader(ctx: Pick<ServerContext, 'tokens' | 'store' | 'documents'>): LibraryLoader {
  return async (roomId, tokens) => {
    const out: LibraryPassage[] = [];
    const seen = new Set<string>([roomId]);
    for (const token of tokens) {
      let claims: TokenClaims;
      try {
        claims = await ctx.tokens.verify(token);
      } catch {
        continue;
      }
      if (seen.has(claims.roomId)) continue;
      seen.add(claims.roomId);
      const room = await ctx.store.rooms.getRoom(claims.roomId);
      if (!room || !(await currentMember(ctx.store.rooms, claims))) continue; // removed members read nothing
      const blocks = await readRoomDocument(ctx.documents, ctx.store.documents, room.id, (doc) => linearizeStory(doc).blocks);
      for (const text of blocks) out.push({ roomId: room.id, roomName: room.name, text });
    }
    return out;
  };
}
