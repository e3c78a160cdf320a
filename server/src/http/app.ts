import fs from 'node:fs';
import path from 'node:path';
import express, { Router, type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { SYNC_PATH } from '@ensemble/shared';
import type { Metrics } from '../metrics';
import type { Storage } from '../storage/store';
import { roomRoutes } from '../rooms/routes';
import type { RoomService } from '../rooms/room-service';
import { HttpError, sendError } from './errors';

export interface AppOptions {
  rooms: RoomService;
  requireToken: RequestHandler;
  metrics: Metrics;
  store: Pick<Storage, 'kind'>;
  logger: Logger;
  clientDir: string;
  ratePerMinute: number;
  /** Largest JSON body accepted by /api. */
  jsonLimit?: string;
}

const PLACEHOLDER = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ensemble</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>Ensemble</h1>
<p>The server is running. The web client has not been built: run <code>pnpm build</code>
(or set <code>ENSEMBLE_CLIENT_DIR</code>) and reload.</p>
<p>API: <code>POST /api/rooms</code>, <code>POST /api/rooms/join</code>; sync: <code>${SYNC_PATH}/&lt;roomId&gt;?token=</code>.</p>
</body></html>`;

/**
 * The express app: core routes under /api, then `api` (the router extensions add to), then a JSON
 * 404 for the rest of /api; /healthz, /metrics; the web client (or a placeholder page) at /.
 */
export function createApp(options: AppOptions): { app: Express; api: Router } {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, store: options.store.kind });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });

  const api = Router();
  app.use('/api', express.json({ limit: options.jsonLimit ?? '256kb' }));
  app.use('/api', roomRoutes(options.rooms, options.requireToken, options.ratePerMinute));
  app.use('/api', api);
  app.use('/api', (req, res) => sendError(res, 404, 'not_found', `no route ${req.method} /api${req.path}`));

  const clientDir = path.resolve(options.clientDir);
  const index = path.join(clientDir, 'index.html');
  if (fs.existsSync(index)) {
    app.use(express.static(clientDir, { index: 'index.html', maxAge: '1h' }));
    // SPA fallback: any other GET that accepts HTML gets the client's index.html.
    app.use((req, res, next) => {
      if (req.method !== 'GET' || req.path.startsWith(SYNC_PATH)) return next();
      res.sendFile(index);
    });
  } else {
    app.get('/', (_req, res) => {
      res.type('html').send(PLACEHOLDER);
    });
  }

  const onError: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    const e = err as { type?: string; status?: number; code?: string; message?: string };
    if (err instanceof HttpError) return sendError(res, err.status, err.code, err.message);
    if (e.type === 'entity.parse.failed') return sendError(res, 400, 'invalid_json', 'request body is not valid JSON');
    if (e.type === 'entity.too.large') return sendError(res, 413, 'payload_too_large', 'request body is too large');
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return sendError(res, e.status, 'bad_request', e.message ?? 'bad request');
    if ((err as Error)?.name === 'StoreError') {
      if (e.code === 'conflict') return sendError(res, 409, 'conflict', e.message ?? 'conflict');
      options.logger.error({ err }, 'store error in request');
      return sendError(res, 503, 'storage_unavailable', 'storage is unavailable; try again');
    }
    options.logger.error({ err }, 'unhandled error in request');
    sendError(res, 500, 'internal', 'internal server error');
  };
  app.use(onError);
  return { app, api };
}
