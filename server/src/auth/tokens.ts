import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT, decodeJwt, jwtVerify, errors as joseErrors } from 'jose';
import { z } from 'zod';
import { Role, type TokenClaims } from '@ensemble/shared';
import type { Config } from '../config';
import type { TokenService } from '../ports';
import { AuthError } from '../errors';

const ClaimsSchema = z.object({
  roomId: z.string().min(1),
  memberId: z.string().min(1),
  displayName: z.string(),
  role: Role,
});

const ISSUER = 'ensemble';
const SECRET_FILE = 'token-secret';

/** HS256 room tokens (jose). `ttlSec` may be negative in tests to mint already-expired tokens. */
export class JwtTokenService implements TokenService {
  private readonly key: Uint8Array;

  constructor(
    secret: string | Uint8Array,
    private readonly ttlSec: number,
  ) {
    this.key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  }

  async sign(claims: TokenClaims): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ roomId: claims.roomId, memberId: claims.memberId, displayName: claims.displayName, role: claims.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(claims.memberId)
      .setIssuedAt(now)
      .setExpirationTime(now + this.ttlSec)
      .sign(this.key);
  }

  async verify(token: string): Promise<TokenClaims> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 8192) {
      throw new AuthError('invalid_token', 'token missing');
    }
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], issuer: ISSUER }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new AuthError('expired_token', 'token expired');
      throw new AuthError('invalid_token', 'token invalid');
    }
    const parsed = ClaimsSchema.safeParse(payload);
    if (!parsed.success) throw new AuthError('invalid_token', 'token claims invalid');
    return parsed.data;
  }

  expiresAt(token: string): number {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' ? exp * 1000 : Infinity;
  }
}

/**
 * The signing secret: ENSEMBLE_TOKEN_SECRET when set, otherwise one generated on first start and
 * kept in `<ENSEMBLE_DATA_DIR>/token-secret` (mode 0600) so tokens survive restarts.
 */
export function resolveTokenSecret(config: Pick<Config, 'ENSEMBLE_TOKEN_SECRET' | 'ENSEMBLE_DATA_DIR'>): string {
  if (config.ENSEMBLE_TOKEN_SECRET) return config.ENSEMBLE_TOKEN_SECRET;
  const dir = path.resolve(config.ENSEMBLE_DATA_DIR);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, SECRET_FILE);
  try {
    const fresh = crypto.randomBytes(48).toString('base64url');
    fs.writeFileSync(file, fresh + '\n', { mode: 0o600, flag: 'wx' });
    return fresh;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const existing = fs.readFileSync(file, 'utf8').trim();
  if (existing.length < 32) throw new Error(`token secret in ${file} is too short; delete it to regenerate`);
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) fs.chmodSync(file, 0o600);
  return existing;
}

export function createTokenService(config: Pick<Config, 'ENSEMBLE_TOKEN_SECRET' | 'ENSEMBLE_DATA_DIR' | 'ENSEMBLE_TOKEN_TTL_SEC'>): JwtTokenService {
  return new JwtTokenService(resolveTokenSecret(config), config.ENSEMBLE_TOKEN_TTL_SEC);
}
