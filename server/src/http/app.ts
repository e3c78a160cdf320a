import fs from 'node:fs';
import path from 'node:path';
import express, { Router, type Express } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { SYNC_PATH } from '@ensemble/shared';
import { errorSender, sendError } from './errors';

export interface AppOptions {
  /** Served at /metrics. */
  metrics: Registry;
  /** Extra fields of the /healthz answer (e.g. which store). */
  health: () => Record<string, unknown>;
  logger: Logger;
  /** The built web client; null: none at all (an inference worker serves no pages). */
  clientDir: string | null;
  /** Routers mounted at their path before the web client (e.g. /v1); each parses its own bodies. */
  routers?: Record<string, Router>;
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
 * The express app, which knows no feature: `api` (mounted at /api, JSON bodies parsed) is where
 * server.ts mounts the feature routers and extensions add theirs; then a JSON 404 for the rest of
 * /api; /healthz, /metrics; the web client (or a placeholder page) at /; one error sender.
 */
export function createApp(options: AppOptions): { app: Express; api: Router } {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, ...options.health() });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(options.metrics.contentType).send(await options.metrics.metrics());
  });

  const api = Router();
  app.use('/api', express.json({ limit: options.jsonLimit ?? '256kb' }));
  app.use('/api', api);
  app.use('/api', (req, res) => sendError(res, 404, 'not_found', `no route ${req.method} /api${req.path}`));

  for (const [at, router] of Object.entries(options.routers ?? {})) app.use(at, router);

  if (options.clientDir !== null) serveClient(app, path.resolve(options.clientDir));

  app.use(errorSender(options.logger));
  return { app, api };
}

/** The web client at / (SPA fallback to its index.html), or a placeholder page when it is not built. */
function serveClient(app: Express, clientDir: string): void {
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
}
