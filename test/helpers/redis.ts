import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';

/** A Redis for tests: REDIS_URL, else one answering on 127.0.0.1:6379, else a redis-server started for the caller. */
export interface TestRedis {
  url: string;
  /** A key prefix no other test uses, so tests sharing one Redis never see each other's keys. */
  prefix(label?: string): string;
  /** Stops the redis-server this helper started (no-op for an external one). */
  stop(): Promise<void>;
  /** The redis-server's pid when this helper started it (benchmarks read its CPU time). */
  pid?: number;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';

/** Sends PING and resolves true on +PONG within `timeoutMs` (a raw socket: no client library's reconnect loop). */
export function redisAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let reply = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

/** A TCP port of 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function prefixer(): TestRedis['prefix'] {
  return (label = 'test') => `ensemble-test:${label}:${randomUUID().slice(0, 8)}:`;
}

/** A redis-server this helper started: a test may kill it, and start another on the same port. */
export interface OwnedRedis extends TestRedis {
  port: number;
  /** Ends the server with `signal` (SIGKILL: no goodbye to the clients) and resolves once it exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Debian's redis-server on a free port of 127.0.0.1 (or `port`), with no persistence (`--save ''
 * --appendonly no`); scripts/install-redis.sh installs it. Rejects when it is missing or does not
 * answer in time.
 */
export async function startRedisServer(timeoutMs: number, options: { port?: number } = {}): Promise<OwnedRedis> {
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  child.stderr!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let failure: string | null = null;
  child.once('error', (err) => (failure = `${err.message} (run scripts/install-redis.sh)`));
  void exited.then(() => (failure ??= 'exited early'));
  const deadline = Date.now() + timeoutMs;
  while (!(await redisAnswers('127.0.0.1', port, 200))) {
    if (failure || Date.now() > deadline) {
      child.kill('SIGKILL');
      process.off('exit', killOnExit);
      throw new Error(`redis-server failed to start on port ${port}: ${failure ?? 'no PONG in time'}\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const kill = async (signal: NodeJS.Signals) => {
    process.off('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  return { url: `redis://127.0.0.1:${port}`, port, prefix: prefixer(), pid: child.pid, kill, stop: () => kill('SIGTERM') };
}

/** A redis-server of the test's own (one it may kill and start again on `port`); `cleanup` stops it. */
export async function ownRedisServer(cleanup: Array<() => void | Promise<unknown>>, port?: number): Promise<OwnedRedis> {
  const redis = await startRedisServer(10_000, port === undefined ? {} : { port });
  cleanup.push(() => redis.stop());
  return redis;
}

/** The Redis a test suite uses; call `stop()` in afterAll. */
export async function useTestRedis(options: { timeoutMs?: number } = {}): Promise<TestRedis> {
  const external = process.env.REDIS_URL;
  if (external) return { url: external, prefix: prefixer(), stop: async () => {} };
  if (await redisAnswers('127.0.0.1', 6379)) return { url: DEFAULT_URL, prefix: prefixer(), stop: async () => {} };
  return startRedisServer(options.timeoutMs ?? 10_000);
}

/**
 * One Redis command over a raw socket (tests run without a Redis client library): a bulk or
 * simple string reply as a string, an integer as its digits, null for a nil reply; rejects on an error reply.
 */
export function redisCommand(url: string, args: string[], timeoutMs = 2000): Promise<string | null> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port || 6379) });
    let reply = '';
    const finish = (err: Error | null, value: string | null = null) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(new Error(`redis ${args[0]}: no answer in ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const line = reply.indexOf('\r\n');
      if (line < 0) return;
      const head = reply.slice(1, line);
      if (reply[0] === '-') return finish(new Error(`redis ${args[0]}: ${head}`));
      if (reply[0] === '+' || reply[0] === ':') return finish(null, head);
      if (reply[0] === '$') {
        const length = Number(head);
        if (length < 0) return finish(null, null);
        if (reply.length >= line + 2 + length + 2) finish(null, reply.slice(line + 2, line + 2 + length));
        return;
      }
      finish(new Error(`redis ${args[0]}: unexpected reply ${JSON.stringify(reply.slice(0, 40))}`));
    });
    socket.once('error', (err) => finish(err));
  });
}

export function redisGet(url: string, key: string): Promise<string | null> {
  return redisCommand(url, ['GET', key]);
}
