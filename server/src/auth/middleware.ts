import type { Request, RequestHandler, Response } from 'express';
import type { TokenClaims } from '@ensemble/shared';
import type { TokenService } from '../ports';
import type { RoomStore } from '../storage/store';
import { AuthError } from '../errors';
import { currentMember } from './current-member';
import { sendError } from '../http/errors';

/** Where `requireToken` leaves the verified claims: `res.locals.claims`. */
export function claimsOf(res: Response): TokenClaims {
  const claims = res.locals.claims as TokenClaims | undefined;
  if (!claims) throw new Error('claimsOf() used on a route without requireToken');
  return claims;
}

export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (match) return match[1]!.trim();
  }
  const q = req.query.token;
  return typeof q === 'string' ? q : undefined;
}

/**
 * Verifies `Authorization: Bearer <token>` (or `?token=`): 401 when missing, forged or expired;
 * 403 when the route's `:id` (or `:roomId`) is another room, or `not_a_member` when the member was
 * removed. Claims go to `res.locals.claims`, with the member's stored role.
 */
export function createRequireToken(tokens: TokenService, store: Pick<RoomStore, 'getMember'>): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req);
    if (!token) {
      sendError(res, 401, 'unauthorized', 'a room token is required (Authorization: Bearer <token>)');
      return;
    }
    let claims: TokenClaims;
    try {
      claims = await tokens.verify(token);
    } catch (err) {
      const code = err instanceof AuthError ? err.code : 'invalid_token';
      sendError(res, 401, code, code === 'expired_token' ? 'token expired' : 'token invalid');
      return;
    }
    const roomId = req.params.id ?? req.params.roomId;
    if (typeof roomId === 'string' && roomId !== claims.roomId) {
      sendError(res, 403, 'forbidden', 'token is for another room');
      return;
    }
    let member: TokenClaims | null;
    try {
      member = await currentMember(store, claims);
    } catch (err) {
      next(err);
      return;
    }
    if (!member) {
      sendError(res, 403, 'not_a_member', 'this token’s member is not in the room (removed by the owner?)');
      return;
    }
    res.locals.claims = member;
    next();
  };
}
