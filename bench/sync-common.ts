/** Shared pieces of the sync benchmarks (bench/sync-*.ts). Not tests: they print tables. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';
import { connectClient, type TestClient } from '../test/helpers/clients';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const TRACES_DIR = path.resolve(REPO_ROOT, '../shared/data/editing-traces');
/** Every trace is replayed into a plain Y.Text with this name. */
export const TEXT = 'bench';

process.setMaxListeners(0);

export type Patch = [pos: number, del: number, ins: string];
export interface Trace {
  startContent?: string;
  endContent: string;
  numAgents?: number;
  txns: Array<{ patches: Patch[]; parents?: number[]; agent?: number }>;
}

export function loadTrace(name: string): Trace {
  return JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(TRACES_DIR, `${name}.json.gz`))).toString()) as Trace;
}

export function applyPatch(text: Y.Text, [pos, del, ins]: Patch): void {
  if (del > 0) text.delete(pos, del);
  if (ins.length > 0) text.insert(pos, ins);
}

export interface ChildServer {
  child: ChildProcess;
  port: number;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs a tsx script as a child process and waits for its `port=<n>` line. Extra node flags for
 * the server (e.g. `--cpu-prof`) come from $BENCH_SERVER_NODE_ARGS.
 */
export function spawnScript(script: string, env: Record<string, string>): Promise<ChildServer> {
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...extra, '--import', 'tsx', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ENSEMBLE_DISABLE_AI: 'true', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /port=(\d+)/.exec(out);
      if (match) {
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        resolve({
          child,
          port: Number(match[1]),
          stop: async (signal = 'SIGTERM') => {
            child.kill(signal);
            await exited;
          },
        });
      }
    });
    void exited.then(() => reject(new Error(`${script} exited before listening:\n${out}`)));
  });
}

/** Starts Ensemble (server/src/main.ts, SQLite in a temp dir). */
export async function startEnsemble(env: Record<string, string> = {}): Promise<ChildServer & { url: string; dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-bench-'));
  // Every simulated client connects from 127.0.0.1, often with one token: lift the socket caps.
  const unlimited = {
    ENSEMBLE_RATE_LIMIT_PER_MIN: '100000',
    ENSEMBLE_MAX_SOCKETS_PER_MEMBER: '100000',
    ENSEMBLE_MAX_SOCKETS_PER_ADDRESS: '100000',
    ENSEMBLE_SYNC_CONNECTS_PER_SEC: '100000',
  };
  const server = await spawnScript('server/src/main.ts', { ENSEMBLE_DATA_DIR: dataDir, ...unlimited, ...env });
  return {
    ...server,
    url: `http://127.0.0.1:${server.port}`,
    dataDir,
    stop: async (signal) => {
      await server.stop(signal);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts the bare @y/websocket-server 0.1.1 (bench/sync-bare-server.ts). */
export function startBare(): Promise<ChildServer> {
  return spawnScript('bench/sync-bare-server.ts', {});
}

export async function createRoom(baseUrl: string, name = 'bench'): Promise<{ roomId: string; token: string; joinCode: string }> {
  const res = await fetch(`${baseUrl}/api/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, kind: 'writers-room' }),
  });
  if (res.status !== 201) throw new Error(`create room: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { room: { id: string; joinCode: string }; token: string };
  return { roomId: body.room.id, token: body.token, joinCode: body.room.joinCode };
}

export type Client = TestClient;

/** A stock y-websocket client (the tests' helper); `params.token` authenticates with Ensemble, the bare server ignores it. */
export function connect(serverUrl: string, room: string, params: Record<string, string> = {}): Client {
  return connectClient(serverUrl, room, params.token ?? '');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const tick = () => new Promise<void>((r) => setImmediate(r));

export async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Resident set size of a process, from /proc (Linux). */
export function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)/.exec(status);
  return kb ? Number(kb[1]) * 1024 : NaN;
}

export function printTable(title: string, rows: Array<Record<string, string | number>>): void {
  const cols = Object.keys(rows[0] ?? {});
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
  console.log(`\n${title}`);
  console.log(line(cols));
  console.log(`|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(cols.map((c) => String(r[c]))));
}
