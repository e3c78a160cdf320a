import fs from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { EXIT_CODES } from '../../server/src/exit-codes';
import { loadConfig } from '../../server/src/config';
import { spawnServer } from '../helpers/process';
import { tempDataDir } from '../helpers/server';

/** Starts a server process that is expected to refuse to start; resolves with why it exited. */
async function startupFailure(env: Record<string, string>): Promise<string> {
  const dataDir = tempDataDir();
  try {
    const outcome = await spawnServer({ ENSEMBLE_DATA_DIR: dataDir, ...env }).then(
      (proc) => {
        proc.child.kill('SIGKILL');
        return null;
      },
      (err: unknown) => (err as Error).message,
    );
    if (outcome === null) throw new Error('the server started');
    return outcome;
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('ENSEMBLE_REDIS_URL', () => {
  it('is refused without MONGODB_URI: the process exits with the bad-config code and says why', async () => {
    const why = await startupFailure({ ENSEMBLE_REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(why).toContain(`server exited (${EXIT_CODES.badConfig})`);
    expect(why).toContain('ENSEMBLE_REDIS_URL needs MONGODB_URI');
  });

  it('accepts a redis URL together with MONGODB_URI, and refuses other schemes', () => {
    const config = loadConfig({ ENSEMBLE_REDIS_URL: 'redis://127.0.0.1:6379', MONGODB_URI: 'mongodb://127.0.0.1:27017' });
    expect(config.ENSEMBLE_REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.ENSEMBLE_REDIS_PREFIX).toBe('ensemble:');
    expect(() => loadConfig({ ENSEMBLE_REDIS_URL: 'http://127.0.0.1:6379', MONGODB_URI: 'mongodb://127.0.0.1:27017' })).toThrow(/redis:\/\/ or rediss:\/\//);
  });

  it('is optional: without it the single-process configuration loads as before', () => {
    expect(loadConfig({}).ENSEMBLE_REDIS_URL).toBeUndefined();
  });
});

describe('Redis unreachable at startup', () => {
  it('the process refuses to start and says which Redis did not answer', async () => {
    const mongoUri = process.env.MONGODB_URI ?? inject('scaleMongoUri');
    const why = await startupFailure({ MONGODB_URI: mongoUri, MONGODB_DB: 'scale_unreachable', ENSEMBLE_REDIS_URL: 'redis://:secret@127.0.0.1:1' });
    expect(why).toContain(`server exited (${EXIT_CODES.failed})`);
    expect(why).toContain('Redis at redis://:***@127.0.0.1:1 did not answer');
    expect(why).not.toContain('secret');
  });
});
