export { AuthError, JwtTokenService, createTokenService, resolveTokenSecret, type AuthErrorCode } from './tokens';
export { createRequireToken, claimsOf, bearerToken } from './middleware';
export { currentMember } from './current-member';
export { SocketLimiter, type SocketSlot } from './socket-limiter';
export { whenExpired } from './expiry-timer';
