import { Router, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { RenameVersionBody, SaveVersionBody, type DeleteVersionResponse, type VersionPreviewResponse } from '@ensemble/shared';
import { claimsOf } from '../auth/middleware';
import { parseBody, sendError } from '../http/errors';
import type { VersionService } from './version-service';

const VersionIdParam = z.string().min(1).max(64);

/** The route's version id, or null after answering 400. */
function versionIdOf(param: unknown, res: Response): string | null {
  const versionId = VersionIdParam.safeParse(param);
  if (versionId.success) return versionId.data;
  sendError(res, 400, 'invalid_params', 'version id must be 1 to 64 characters');
  return null;
}

/**
 * Versions (mounted at /api, room token required; saving, renaming, deleting and restoring are
 * for owners and editors):
 *   POST   /rooms/:id/versions                               save the current document, body { name }
 *   GET    /rooms/:id/versions                               list, newest first
 *   GET    /rooms/:id/versions/:versionId/preview            its story, and the diff from the current one
 *   PATCH  /rooms/:id/versions/:versionId                    rename, body { name }
 *   DELETE /rooms/:id/versions/:versionId
 *   POST   /rooms/:id/versions/:versionId/restore            restore as a new state every client receives
 */
export function versionRoutes(versions: VersionService, requireToken: RequestHandler): Router {
  const router = Router();

  router.post('/rooms/:id/versions', requireToken, async (req, res) => {
    const body = parseBody(SaveVersionBody, req.body, res);
    if (!body) return;
    res.status(201).json({ version: await versions.save(claimsOf(res), body.name) });
  });

  router.get('/rooms/:id/versions', requireToken, async (_req, res) => {
    res.json({ versions: await versions.list(claimsOf(res)) });
  });

  router.get('/rooms/:id/versions/:versionId/preview', requireToken, async (req, res) => {
    const versionId = versionIdOf(req.params.versionId, res);
    if (!versionId) return;
    const preview: VersionPreviewResponse = await versions.preview(claimsOf(res), versionId);
    res.json(preview);
  });

  router.patch('/rooms/:id/versions/:versionId', requireToken, async (req, res) => {
    const versionId = versionIdOf(req.params.versionId, res);
    if (!versionId) return;
    const body = parseBody(RenameVersionBody, req.body, res);
    if (!body) return;
    res.json({ version: await versions.rename(claimsOf(res), versionId, body.name) });
  });

  router.delete('/rooms/:id/versions/:versionId', requireToken, async (req, res) => {
    const versionId = versionIdOf(req.params.versionId, res);
    if (!versionId) return;
    const deleted: DeleteVersionResponse = { deleted: await versions.remove(claimsOf(res), versionId) };
    res.json(deleted);
  });

  router.post('/rooms/:id/versions/:versionId/restore', requireToken, async (req, res) => {
    const versionId = versionIdOf(req.params.versionId, res);
    if (!versionId) return;
    res.json({ version: await versions.restore(claimsOf(res), versionId) });
  });

  return router;
}
