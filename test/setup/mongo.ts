import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** A running jongodb server (an in-memory, wire-compatible MongoDB for tests and benchmarks). */
export interface Jongodb {
  /** e.g. mongodb://127.0.0.1:40123/test — pick your own database name, the path is only a default. */
  uri: string;
  /** Stops the server (idempotent). Its data is gone afterwards: jongodb keeps nothing on disk. */
  stop(): Promise<void>;
  /** The server's pid (benchmarks read its CPU time). */
  pid: number;
}

const PACKAGE = '@jongodb/memory-server-bin-linux-x64-gnu';

/** Path of the jongodb executable: $JONGODB_BINARY, else the one the npm package declares. */
export function jongodbBinaryPath(): string {
  if (process.env.JONGODB_BINARY) return process.env.JONGODB_BINARY;
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve(`${PACKAGE}/package.json`);
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as { jongodb?: { binary?: string } };
  return path.join(path.dirname(manifestPath), manifest.jongodb?.binary ?? 'bin/jongodb');
}

/**
 * Starts jongodb on a free port of 127.0.0.1 and resolves once it prints `JONGODB_URI=...`.
 * Rejects (never skips) when the binary is missing, exits early, or stays silent for `timeoutMs`.
 * The server is also killed when this Node process exits.
 */
export function startJongodb(options: { timeoutMs?: number } = {}): Promise<Jongodb> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const binary = jongodbBinaryPath();
  if (!fs.existsSync(binary)) return Promise.reject(new Error(`jongodb binary not found at ${binary} (is ${PACKAGE} installed?)`));

  const child = spawn(binary, ['--host=127.0.0.1', '--port=0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  let output = '';
  const remember = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000); // enough to explain a failed start
  };
  child.stderr!.on('data', remember);

  return new Promise<Jongodb>((resolve, reject) => {
    const fail = (reason: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      process.off('exit', killOnExit);
      reject(new Error(`jongodb failed to start (${binary}): ${reason}\n${output}`));
    };
    const timer = setTimeout(() => fail(`no JONGODB_URI line within ${timeoutMs} ms`), timeoutMs);
    child.once('error', (error) => fail(error.message));
    child.once('exit', (code, signal) => fail(`exited with ${signal ?? `code ${code}`}`));
    child.stdout!.on('data', (chunk: Buffer) => {
      remember(chunk);
      const match = /JONGODB_URI=(\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume(); // keep draining, so a chatty server never blocks on a full pipe
      resolve({ uri: match[1]!, pid: child.pid!, stop: () => stopChild(child, killOnExit) });
    });
  });
}

function stopChild(child: ChildProcess, killOnExit: () => void): Promise<void> {
  process.off('exit', killOnExit);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
