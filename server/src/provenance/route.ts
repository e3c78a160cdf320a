import { Router, type RequestHandler } from 'express';
import type { RoomDocuments } from '../ports';
import { claimsOf } from '../auth/middleware';
import { sendError } from '../http/errors';
import type { AiRecordStore, DocumentLog, RoomStore } from '../storage/store';
import { readRoomDocument } from '../sync/stored-document';
import { computeProvenance } from './provenance';

export interface ProvenanceRouteDeps {
  rooms: Pick<RoomStore, 'getRoom' | 'listMembers'>;
  records: Pick<AiRecordStore, 'listProposals'>;
  documentLog: Pick<DocumentLog, 'loadDocument'>;
  documents: Pick<RoomDocuments, 'peek'>;
  requireToken: RequestHandler;
}

/**
 * `GET /api/rooms/:id/provenance` (any member's token for that room: requireToken answers
 * 401/403). Reads the loaded document when the room is active, else the stored one, unpinned.
 */
export function provenanceRoutes({ rooms, records, documentLog, documents, requireToken }: ProvenanceRouteDeps): Router {
  const router = Router();
  router.get('/rooms/:id/provenance', requireToken, async (req, res) => {
    const roomId = claimsOf(res).roomId;
    const room = await rooms.getRoom(roomId);
    if (!room) return sendError(res, 404, 'not_found', 'room not found');
    const [proposals, members] = await Promise.all([records.listProposals(roomId, 100_000), rooms.listMembers(roomId)]);
    const names = new Map(members.map((m) => [m.id, m.displayName]));
    res.json(await readRoomDocument(documents, documentLog, roomId, (doc) => computeProvenance(roomId, doc, proposals, names)));
  });
  return router;
}
