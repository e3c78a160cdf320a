import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { spawnServer, type ServerProcess } from './process';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { useTestRedis, type TestRedis } from './redis';
import { tempDataDir } from './server';

/**
 * The environment every process of one multi-process deployment shares: one MongoDB database and
 * one Redis key prefix of its own, one token secret.
 */
export type DeploymentEnv = Record<'MONGODB_URI' | 'MONGODB_DB' | 'ENSEMBLE_REDIS_URL' | 'ENSEMBLE_REDIS_PREFIX' | 'ENSEMBLE_TOKEN_SECRET', string>;

export function sharedDeploymentEnv(redis: TestRedis, mongoUri: string): DeploymentEnv {
  return {
    MONGODB_URI: mongoUri,
    MONGODB_DB: `scale_${randomUUID().slice(0, 8)}`,
    ENSEMBLE_REDIS_URL: redis.url,
    ENSEMBLE_REDIS_PREFIX: redis.prefix('deployment'),
    ENSEMBLE_TOKEN_SECRET: randomUUID() + randomUUID(),
  };
}

/** One process of the deployment, with a data directory of its own; `cleanup` kills it and removes that. */
export async function startDeploymentProcess(env: Record<string, string>, cleanup: Array<() => void | Promise<unknown>>): Promise<ServerProcess> {
  const dataDir = tempDataDir('ensemble-scale-');
  cleanup.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const proc = await spawnServer({ ...env, ENSEMBLE_DATA_DIR: dataDir });
  cleanup.push(() => {
    proc.child.kill('SIGKILL');
  });
  return proc;
}

export interface RedisSuite {
  /** The suite's Redis (started before its first test). */
  readonly redis: TestRedis;
  /** What each test queues to undo (processes, folders, clients): run after it, last first. */
  readonly cleanup: Array<() => void | Promise<unknown>>;
}

/** A multi-process suite's shared Redis and per-test cleanup. */
export function useRedisSuite(): RedisSuite {
  let redis: TestRedis | undefined;
  const cleanup: Array<() => void | Promise<unknown>> = [];
  beforeAll(async () => {
    redis = await useTestRedis();
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  return {
    get redis() {
      if (!redis) throw new Error('the suite’s Redis is not started yet (use it inside a test or hook)');
      return redis;
    },
    cleanup,
  };
}
