import { Router, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { EXPORT_FORMATS, mayExportProvenance, panelsOf, readPanel } from '@ensemble/shared';
import type { RoomDocuments } from '../ports';
import { claimsOf } from '../auth/middleware';
import { sendError } from '../http/errors';
import { computeProvenance } from '../provenance/provenance';
import type { AiRecordStore, DocumentLog, RoomRecord, RoomStore } from '../storage/store';
import { readRoomDocument } from '../sync/stored-document';
import { storyDocx } from './docx';
import { attachment } from './filename';
import { storyHtml } from './html';
import { storyMarkdown } from './markdown';
import { provenanceCsv } from './provenance-csv';
import { provenancePdf } from './provenance-pdf';
import { storyBlocks } from './story-model';
import { storyboardPdf, type ContactSheetPanel } from './storyboard-pdf';

export interface ExportRouteDeps {
  rooms: Pick<RoomStore, 'getRoom' | 'listMembers'>;
  records: Pick<AiRecordStore, 'listProposals' | 'getImage'>;
  documentLog: Pick<DocumentLog, 'loadDocument'>;
  documents: Pick<RoomDocuments, 'peek'>;
  requireToken: RequestHandler;
}

const ExportFormat = z.enum(EXPORT_FORMATS);

const TYPES = {
  md: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  pdf: 'application/pdf',
  csv: 'text/csv; charset=utf-8',
} as const;

/**
 * `GET /api/rooms/:id/export/:format` — a download of the room, token-checked (requireToken
 * answers 401/403 for a missing, bad or other room's token):
 *   story.md / story.html / story.docx   any member, viewers included (they can read the story)
 *   storyboard.pdf                       any member: contact sheet with the panels' images
 *   provenance.csv / provenance.pdf      the owner of a classroom room only (it grades students)
 * Reads the live document when the room is loaded, else the stored one (unpinned). The filename
 * is the room's name slugged (`attachment; filename="my-story.docx"`).
 */
export function exportRoutes({ rooms, records, documentLog, documents, requireToken }: ExportRouteDeps): Router {
  const router = Router();
  router.get('/rooms/:id/export/:format', requireToken, async (req, res) => {
    const format = ExportFormat.safeParse(req.params.format);
    if (!format.success) return sendError(res, 404, 'unknown_format', `no such export; one of ${EXPORT_FORMATS.join(', ')}`);
    const claims = claimsOf(res);
    const room = await rooms.getRoom(claims.roomId);
    if (!room) return sendError(res, 404, 'not_found', 'room not found');
    const read = <T>(fn: Parameters<typeof readRoomDocument<T>>[3]) => readRoomDocument(documents, documentLog, room.id, fn);

    switch (format.data) {
      case 'story.md':
        return send(res, room, '', 'md', storyMarkdown(room.name, await read(storyBlocks)));
      case 'story.html':
        return send(res, room, '', 'html', storyHtml(room.name, await read(storyBlocks)));
      case 'story.docx':
        return send(res, room, '', 'docx', await storyDocx(room.name, await read(storyBlocks)));
      case 'storyboard.pdf': {
        const panels = await read((doc) => panelsOf(doc).toArray().map(readPanel));
        const withImages: ContactSheetPanel[] = await Promise.all(
          panels.map(async (p) => ({ ...p, image: p.imageId ? ((await records.getImage(room.id, p.imageId))?.data ?? null) : null })),
        );
        return send(res, room, '-storyboard', 'pdf', await storyboardPdf(room.name, withImages));
      }
      case 'provenance.csv':
      case 'provenance.pdf': {
        if (room.kind !== 'classroom') return sendError(res, 404, 'not_classroom', 'the provenance report is for classroom rooms');
        if (!mayExportProvenance(room.kind, claims.role)) return sendError(res, 403, 'forbidden', 'only the teacher (room owner) can export the provenance report');
        const [proposals, members] = await Promise.all([records.listProposals(room.id, 100_000), rooms.listMembers(room.id)]);
        const names = new Map(members.map((m) => [m.id, m.displayName]));
        const report = await read((doc) => computeProvenance(room.id, doc, proposals, names));
        return format.data === 'provenance.csv'
          ? send(res, room, '-provenance', 'csv', provenanceCsv(report))
          : send(res, room, '-provenance', 'pdf', await provenancePdf(room.name, report, new Date()));
      }
    }
  });
  return router;
}

function send(res: Response, room: RoomRecord, suffix: string, ext: keyof typeof TYPES, body: string | Buffer): void {
  res.setHeader('Content-Type', TYPES[ext]);
  res.setHeader('Content-Disposition', attachment(room.name, suffix, ext));
  res.setHeader('Cache-Control', 'private, no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.status(200).send(body);
}
