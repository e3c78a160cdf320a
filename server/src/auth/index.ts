export { AuthError, JwtTokenService, createTokenService, resolveTokenSecret, type AuthErrorCode } from './tokens';
export { createRequireToken, claimsOf, bearerToken } from './middleware';
