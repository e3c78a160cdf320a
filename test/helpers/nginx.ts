import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './redis';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The load balancer docker-compose.yml runs. */
export const NGINX_CONF = path.join(REPO_ROOT, 'deploy/nginx.conf');

/** nginx running the committed deploy/nginx.conf in front of local processes. */
export interface TestLoadBalancer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** nginx's error log so far, for failure messages. */
  errors(): string;
  stop(): Promise<void>;
}

/**
 * deploy/nginx.conf as it would run on this machine: each upstream's `server ensemble-N:8080;`
 * lines become `backends` (host:port), it listens on 127.0.0.1:`port`, pid, logs and temp
 * files go to `dir`, and it runs one worker (each worker keeps its own round-robin position, so
 * with one a test knows which process its next connection reaches). Nothing else changes.
 */
export function renderNginxConf(conf: string, backends: string[], port: number, dir: string): string {
  const servers = /^([ \t]*)server ensemble-\d+:8080;\n(?:[ \t]*server ensemble-\d+:8080;\n)*/gm;
  const expected = [servers, /^\s*listen 8080;$/m, /^worker_processes auto;$/m];
  if (!expected.every((re) => new RegExp(re.source, 'm').test(conf))) throw new Error(`${NGINX_CONF}: expected 'server ensemble-N:8080;' upstream lines, 'listen 8080;' and 'worker_processes auto;'`);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${path.join(dir, t)};`).join('\n');
  return `pid ${path.join(dir, 'nginx.pid')};\nerror_log ${path.join(dir, 'error.log')} warn;\n${conf}`
    .replace(servers, (_m, indent: string) => backends.map((b) => `${indent}server ${b};\n`).join(''))
    .replace(/^(\s*)listen 8080;$/m, `$1listen 127.0.0.1:${port};`)
    .replace(/^worker_processes auto;$/m, 'worker_processes 1;')
    .replace(/^http \{$/m, `http {\n  access_log off;\n${temp}`);
}

/** Starts nginx (Debian's; scripts/install-nginx.sh) on a free port; rejects with its error log if it does not answer /healthz. */
export async function startNginx(backends: string[], options: { timeoutMs?: number } = {}): Promise<TestLoadBalancer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-nginx-'));
  fs.chmodSync(dir, 0o755); // nginx's workers run as another user when it starts as root
  const port = await freePort();
  const confPath = path.join(dir, 'nginx.conf');
  fs.writeFileSync(confPath, renderNginxConf(fs.readFileSync(NGINX_CONF, 'utf8'), backends, port, dir));
  const errorLog = path.join(dir, 'error.log');
  const child = spawn('nginx', ['-p', dir, '-e', errorLog, '-c', confPath, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let failure: string | null = null;
  child.once('error', (err) => (failure = `${err.message} (run scripts/install-nginx.sh)`));
  void exited.then(() => (failure ??= `exited with ${child.exitCode ?? child.signalCode}`));
  const errors = () => output + (fs.existsSync(errorLog) ? fs.readFileSync(errorLog, 'utf8') : '');
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM'); // fast shutdown: open websockets are closed, not waited for
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) return { url, errors, stop };
    if (failure || Date.now() > deadline) {
      const message = `nginx did not start on ${url}: ${failure ?? 'no /healthz answer in time'}\n${errors()}`;
      await stop();
      throw new Error(message);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
