import * as Y from 'yjs';
import type { Request, Response } from 'express';
import type { TokenClaims } from '@ensemble/shared';
import type { ServerContext } from '../context';
import { computeProvenance } from './provenance';

function send(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/**
 * `GET /api/rooms/:id/provenance` (any member's token for that room: ctx.requireToken answers
 * 401/403). Uses the loaded document when the room is active, else loads it from the store
 * without pinning it.
 */
export function provenanceRoute(ctx: ServerContext): void {
  ctx.api.get('/rooms/:id/provenance', ctx.requireToken, async (req: Request, res: Response) => {
    const claims = res.locals.claims as TokenClaims | undefined;
    const roomId = String(req.params.id);
    if (!claims || claims.roomId !== roomId) return send(res, 403, 'forbidden', 'token is for another room');
    try {
      const room = await ctx.store.rooms.getRoom(roomId);
      if (!room) return send(res, 404, 'not_found', 'room not found');
      let doc: Y.Doc;
      let temp: Y.Doc | null = null;
      const loaded = ctx.documents.peek(roomId);
      if (loaded) doc = loaded.doc;
      else {
        temp = new Y.Doc();
        const stored = await ctx.store.documents.loadDocument(roomId);
        if (stored.snapshot) Y.applyUpdate(temp, stored.snapshot);
        for (const u of stored.updates) Y.applyUpdate(temp, u.data);
        doc = temp;
      }
      try {
        const [proposals, members] = await Promise.all([ctx.store.records.listProposals(roomId, 100_000), ctx.store.rooms.listMembers(roomId)]);
        const names = new Map(members.map((m) => [m.id, m.displayName]));
        res.json(computeProvenance(roomId, doc, proposals, names));
      } finally {
        temp?.destroy();
      }
    } catch (err) {
      ctx.logger.error({ err, roomId }, 'provenance failed');
      send(res, 500, 'internal', 'provenance could not be computed');
    }
  });
}
