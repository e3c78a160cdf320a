import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { createAgentExtension, type AgentOptions } from '../../server/src/agent/index';
import type { Inference } from '../../server/src/inference/index';
import { loadConfig } from '../../server/src/config';
import { createEnsembleServer, type EnsembleServer } from '../../server/src/server';
import { loadEngine } from '../agent/harness';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const CLIENT = path.join(REPO, 'client');
export const DIST = path.join(CLIENT, 'dist');
export const ARTIFACTS = path.join(REPO, 'test-artifacts');
export const CHROMIUM = '/usr/bin/chromium';

function newestMtime(target: string): number {
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of fs.readdirSync(target)) newest = Math.max(newest, newestMtime(path.join(target, entry)));
  return newest;
}

function distIsFresh(): boolean {
  const index = path.join(DIST, 'index.html');
  if (!fs.existsSync(index)) return false;
  const sources = [path.join(CLIENT, 'src'), path.join(CLIENT, 'index.html'), path.join(CLIENT, 'vite.config.ts'), path.join(REPO, 'shared/src')];
  const sourceTime = Math.max(...sources.filter((s) => fs.existsSync(s)).map(newestMtime));
  return fs.statSync(index).mtimeMs >= sourceTime;
}

/**
 * Builds the client with Vite when client/dist is missing or older than its sources. E2E files run
 * in parallel workers: a lock directory makes one build while the others wait for it.
 */
export async function ensureClientBuilt(): Promise<void> {
  const lock = path.join(os.tmpdir(), `ensemble-client-build-${Buffer.from(REPO).toString('hex').slice(-24)}.lock`);
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (distIsFresh()) return;
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      // Another worker is building (or a crashed one left a lock: take it over after 3 minutes).
      if (Date.now() > deadline || Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 180_000) {
        fs.rmSync(lock, { recursive: true, force: true });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (!distIsFresh()) {
      execFileSync(process.execPath, [path.join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: CLIENT, stdio: 'inherit' });
    }
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

export interface E2EServer {
  server: EnsembleServer;
  url: string;
  port: number;
  dataDir: string;
  /** Stops the server; removes its data directory unless `keepData`. */
  close(opts?: { keepData?: boolean }): Promise<void>;
}

/**
 * The real server in-process (port 0 unless given) with the AI collaborator, serving the built
 * client. Pass `dataDir` and `port` to restart on the same data and address.
 */
export async function startE2EServer(opts: { dataDir?: string; port?: number; engine?: Inference; agent?: Partial<AgentOptions> } = {}): Promise<E2EServer> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-e2e-'));
  const config = loadConfig({
    PORT: String(opts.port ?? 0),
    HOST: '127.0.0.1',
    ENSEMBLE_DATA_DIR: dataDir,
    ENSEMBLE_CLIENT_DIR: DIST,
    LOG_LEVEL: 'silent',
    ENSEMBLE_RATE_LIMIT_PER_MIN: '100000',
    ENSEMBLE_FLUSH_MS: '10',
    ENSEMBLE_DEVICE: 'cpu',
  } as NodeJS.ProcessEnv);
  const engine = opts.engine ?? (await loadEngine());
  const agent = createAgentExtension({ engine, ...opts.agent });
  const server = await createEnsembleServer(config, { extensions: [agent] });
  const { port } = await server.listen();
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    close: async ({ keepData = false } = {}) => {
      await server.close();
      if (!keepData) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface ConsoleLog {
  errors: string[];
  warnings: string[];
}

/** Records console errors and uncaught page errors (and warnings, for the report). */
export function watchConsole(page: Page, name: string): ConsoleLog {
  const log: ConsoleLog = { errors: [], warnings: [] };
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() === 'error') log.errors.push(`[${name}] ${msg.text()}`);
    else if (msg.type() === 'warning') log.warnings.push(`[${name}] ${msg.text()}`);
  });
  page.on('pageerror', (err) => log.errors.push(`[${name}] uncaught: ${err.message}`));
  return log;
}

export function artifact(name: string): string {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

export interface E2ESuite {
  /** The running server; a test that restarts it assigns the new one here (afterAll closes it). */
  server: E2EServer;
  browser: Browser;
}

/**
 * One e2e suite's setup: the client built, a server (options from `serverOptions`, which may load
 * an engine), Chromium; both closed after the suite. The fields are set once beforeAll has run.
 */
export function useE2ESuite(serverOptions: () => Parameters<typeof startE2EServer>[0] | Promise<Parameters<typeof startE2EServer>[0]> = () => ({})): E2ESuite {
  const suite = {} as E2ESuite;
  beforeAll(async () => {
    await ensureClientBuilt();
    suite.server = await startE2EServer(await serverOptions());
    suite.browser = await launchChromium();
  }, 240_000);
  afterAll(async () => {
    await suite.browser?.close();
    await suite.server?.close();
  });
  return suite;
}

/**
 * Opens one member's page per call, each in a browser context of its own (its own storage, so its
 * own session), watching its console; every context is closed after the suite.
 */
export function useMemberPages(e2e: E2ESuite): (name: string, path?: string) => Promise<{ page: Page; log: ConsoleLog }> {
  const contexts: BrowserContext[] = [];
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
  });
  return async (name, path = '/') => {
    const context = await e2e.browser.newContext({ viewport: { width: 1366, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const log = watchConsole(page, name);
    await page.goto(e2e.server.url + path);
    return { page, log };
  };
}
