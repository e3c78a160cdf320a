import { createHash } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { TokenClaims } from '@ensemble/shared';
import type { Store } from '../storage/store';

export interface ImageRouterDeps {
  store: Pick<Store, 'getImage'>;
  requireToken: RequestHandler;
  logger: Logger;
}

/**
 * `GET /rooms/:id/images/:imageId` (mounted on /api): an AI image of the room, for any member's
 * token for that room; immutable, with an ETag.
 */
export function createImageRouter(deps: ImageRouterDeps): Router {
  const router = Router();
  router.get('/rooms/:id/images/:imageId', deps.requireToken, async (req, res) => {
    const claims = res.locals.claims as TokenClaims | undefined;
    const roomId = String(req.params.id);
    if (!claims || claims.roomId !== roomId) {
      res.status(403).json({ error: { code: 'forbidden', message: 'token is for another room' } });
      return;
    }
    try {
      const image = await deps.store.getImage(roomId, String(req.params.imageId));
      if (!image) {
        res.status(404).json({ error: { code: 'not_found', message: 'image not found' } });
        return;
      }
      const etag = `"${createHash('sha256').update(image.data).digest('base64url').slice(0, 27)}"`;
      res.setHeader('ETag', etag);
      res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
      res.setHeader('Content-Type', image.mime || 'image/png');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      if (req.headers['if-none-match'] === etag) {
        res.status(304).end();
        return;
      }
      res.status(200).end(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength));
    } catch (err) {
      deps.logger.error({ err, roomId }, 'serving image failed');
      res.status(500).json({ error: { code: 'internal', message: 'image could not be read' } });
    }
  });
  return router;
}
