import { pino, type Logger } from 'pino';
import type { Config } from './config';

export type { Logger };

/** One pino logger per server; components take `logger.child({ component })`. */
export function createLogger(config: Pick<Config, 'LOG_LEVEL'>): Logger {
  return pino({ level: config.LOG_LEVEL, base: { service: 'ensemble' } });
}
