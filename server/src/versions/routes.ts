import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { SaveVersionBody } from '@ensemble/shared';
import { claimsOf } from '../auth/middleware';
import { parseBody, sendError } from '../http/errors';
import type { VersionService } from './version-service';

const VersionIdParam = z.string().min(1).max(64);

/**
 * Named versions (mounted at /api, room token required):
 *   POST /rooms/:id/versions  GET /rooms/:id/versions
 *   POST /rooms/:id/versions/:versionId/restore  restore as a new state every client receives
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

  router.post('/rooms/:id/versions/:versionId/restore', requireToken, async (req, res) => {
    const versionId = VersionIdParam.safeParse(req.params.versionId);
    if (!versionId.success) {
      sendError(res, 400, 'invalid_params', 'version id is invalid');
      return;
    }
    res.json({ version: await versions.restore(claimsOf(res), versionId.data) });
  });

  return router;
}
