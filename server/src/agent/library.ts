import type * as Y from 'yjs';
import type { TokenClaims } from '@ensemble/shared';
import { currentMember } from '../auth/current-member';
import type { ServerContext } from '../context';
import type { LibraryPassage } from '../recommendation';
import { linearizeStory } from './anchor';

export type LibraryLoader = (roomId: string, tokens: string[]) => Promise<LibraryPassage[]>;

/**
 * The recommendation library a member brings: the paragraphs of the other rooms whose tokens they
 * presented (verified, still a member). Loaded rooms are read in place; others through `loadStored`.
 */
export function createLibraryLoader(ctx: Pick<ServerContext, 'tokens' | 'store' | 'documents'>, loadStored: (roomId: string) => Promise<Y.Doc>): LibraryLoader {
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
      const room = await ctx.store.getRoom(claims.roomId);
      if (!room || !(await currentMember(ctx.store, claims))) continue; // removed members read nothing
      const loaded = ctx.documents.peek(claims.roomId);
      const temp = loaded ? null : await loadStored(claims.roomId);
      const doc = loaded?.doc ?? temp!;
      for (const text of linearizeStory(doc).blocks) out.push({ roomId: room.id, roomName: room.name, text });
      temp?.destroy();
    }
    return out;
  };
}
