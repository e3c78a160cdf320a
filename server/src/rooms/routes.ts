import { Router, type RequestHandler } from 'express';
import type { RequestBudgets } from '../ports';
import { rateLimit } from 'express-rate-limit';
import {
  CreateJoinCodeBody,
  CreateRoomBody,
  JoinRoomBody,
  MemberId,
  UpdateRoomSettingsBody,
  type MemberListResponse,
  type RemoveMemberResponse,
} from '@ensemble/shared';
import { claimsOf } from '../auth/middleware';
import { parseBody, sendError } from '../http/errors';
import type { RoomService } from './room-service';

/**
 * The rooms REST API (mounted at /api):
 *   POST /rooms                                  create (201, creator is owner; rate-limited)
 *   POST /rooms/join                             join by code (rate-limited)
 *   GET  /rooms/:id                              room + member (token)
 *   POST /rooms/:id/join-codes                   owner: new code, e.g. viewer-only (201)
 *   POST /rooms/:id/join-codes/rotate            owner: replace the role's codes by a new one
 *   PATCH /rooms/:id/settings                    owner: partial settings
 *   GET  /rooms/:id/members                      owner: everyone in the room
 *   DELETE /rooms/:id/members/:memberId          owner: remove a member (token revoked, sockets closed)
 * (named versions: versions/routes.ts)
 */
export function roomRoutes(rooms: RoomService, requireToken: RequestHandler, ratePerMinute: number, shared?: RequestBudgets): Router {
  const router = Router();
  const refuse: RequestHandler = (_req, res) => sendError(res, 429, 'rate_limited', 'too many rooms created or joined from this address; try again in a minute');
  const limiter = shared
    ? sharedLimiter(shared, ratePerMinute, refuse)
    : rateLimit({ windowMs: 60_000, limit: ratePerMinute, standardHeaders: 'draft-8', legacyHeaders: false, handler: refuse });

  router.post('/rooms', limiter, async (req, res) => {
    const body = parseBody(CreateRoomBody, req.body, res);
    if (!body) return;
    res.status(201).json(await rooms.create(body));
  });

  router.post('/rooms/join', limiter, async (req, res) => {
    const body = parseBody(JoinRoomBody, req.body, res);
    if (!body) return;
    res.json(await rooms.join(body));
  });

  router.get('/rooms/:id', requireToken, async (_req, res) => {
    res.json(await rooms.get(claimsOf(res)));
  });

  router.post('/rooms/:id/join-codes', requireToken, async (req, res) => {
    const body = parseBody(CreateJoinCodeBody, req.body, res);
    if (!body) return;
    res.status(201).json(await rooms.createJoinCode(claimsOf(res), body.role));
  });

  router.post('/rooms/:id/join-codes/rotate', requireToken, async (req, res) => {
    const body = parseBody(CreateJoinCodeBody.strict(), req.body, res);
    if (!body) return;
    res.json(await rooms.rotateJoinCode(claimsOf(res), body.role));
  });

  router.patch('/rooms/:id/settings', requireToken, async (req, res) => {
    const body = parseBody(UpdateRoomSettingsBody.strict(), req.body, res);
    if (!body) return;
    res.json({ settings: await rooms.updateSettings(claimsOf(res), body) });
  });

  router.get('/rooms/:id/members', requireToken, async (_req, res) => {
    const body: MemberListResponse = { members: await rooms.listMembers(claimsOf(res)) };
    res.json(body);
  });

  router.delete('/rooms/:id/members/:memberId', requireToken, async (req, res) => {
    const memberId = MemberId.safeParse(req.params.memberId);
    if (!memberId.success) {
      sendError(res, 400, 'invalid_params', 'member id is invalid');
      return;
    }
    const body: RemoveMemberResponse = { removed: await rooms.removeMember(claimsOf(res), memberId.data) };
    res.json(body);
  });

  return router;
}

/** Creates and joins per address, counted by every process together (ServerContext.sharedBudgets). */
function sharedLimiter(shared: RequestBudgets, ratePerMinute: number, refuse: RequestHandler): RequestHandler {
  const budget = shared('room-entry', ratePerMinute, ratePerMinute);
  return (req, res, next) => {
    budget.consume(req.ip ?? req.socket.remoteAddress ?? 'unknown').then((waitMs) => {
      if (waitMs === 0) return next();
      res.set('Retry-After', String(Math.ceil(waitMs / 1000)));
      refuse(req, res, next);
    }, next);
  };
}
