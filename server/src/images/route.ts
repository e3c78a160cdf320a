import { createHash } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import { claimsOf } from '../auth/middleware';
import { sendError } from '../http/errors';
import type { AiRecordStore } from '../storage/store';

export interface ImageRouterDeps {
  images: Pick<AiRecordStore, 'getImage'>;
  requireToken: RequestHandler;
}

/**
 * `GET /rooms/:id/images/:imageId` (mounted on /api): an AI image of the room, for any member's
 * token for that room (requireToken answers 401/403); immutable, with an ETag.
 */
export function createImageRouter({ images, requireToken }: ImageRouterDeps): Router {
  const router = Router();
  router.get('/rooms/:id/images/:imageId', requireToken, async (req, res) => {
    const image = await images.getImage(claimsOf(res).roomId, String(req.params.imageId));
    if (!image) return sendError(res, 404, 'not_found', 'image not found');
    const etag = `"${createHash('sha256').update(image.data).digest('base64url').slice(0, 27)}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
    res.setHeader('Content-Type', image.mime || 'image/png');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.headers['if-none-match'] === etag) return void res.status(304).end();
    res.status(200).end(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength));
  });
  return router;
}
