import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { spawnServer, type ServerProcess } from './process';
import type { TestRedis } from './redis';
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
