export { createEnsembleServer, type EnsembleServer, type EnsembleServerOptions } from './server';
export { loadConfig, ConfigSchema, ConfigError, type Config } from './config';
export type { ServerContext, Extension, TokenService, LoadedRoom, RoomDocuments, DocumentEvents } from './ports';
export { createLogger } from './logger';
export { Metrics, instrumentStore } from './metrics';
export { AuthError, RoomError } from './errors';
export { JwtTokenService, createTokenService } from './auth/tokens';
export { claimsOf } from './auth/middleware';
