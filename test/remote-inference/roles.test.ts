/** ENSEMBLE_ROLE and the remote-engine settings: what each role needs, and what an inference worker serves. */
import OpenAI from 'openai';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/src/config';
import { EXIT_CODES } from '../../server/src/exit-codes';
import { spawnServer, type ServerProcess } from '../helpers/index';

const env = (vars: Record<string, string>) => ({ LOG_LEVEL: 'silent', ...vars }) as NodeJS.ProcessEnv;
const configError = (vars: Record<string, string>): string => {
  try {
    loadConfig(env(vars));
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a configuration error');
};

describe('role configuration', () => {
  it('defaults to all, one process with its own models', () => {
    const c = loadConfig(env({}));
    expect(c.ENSEMBLE_ROLE).toBe('all');
    expect(c.ENSEMBLE_INFERENCE_URL).toEqual([]);
  });

  it('reads several engine URLs, adding /v1 to a bare origin', () => {
    const c = loadConfig(env({ ENSEMBLE_ROLE: 'sync', ENSEMBLE_INFERENCE_URL: 'http://gpu1:8000/v1, http://gpu2:8000 ,https://llm.example.org/openai/v1/' }));
    expect(c.ENSEMBLE_INFERENCE_URL).toEqual(['http://gpu1:8000/v1', 'http://gpu2:8000/v1', 'https://llm.example.org/openai/v1']);
  });

  it('refuses what a role cannot run with, saying what to set', () => {
    expect(configError({ ENSEMBLE_ROLE: 'sync' })).toMatch(/ENSEMBLE_INFERENCE_URL: ENSEMBLE_ROLE=sync loads no models/);
    expect(configError({ ENSEMBLE_ROLE: 'inference' })).toMatch(/ENSEMBLE_API_KEYS: .*needs at least one key/);
    expect(configError({ ENSEMBLE_ROLE: 'inference', ENSEMBLE_API_KEYS: 'k', ENSEMBLE_DISABLE_AI: 'true' })).toMatch(/cannot run with ENSEMBLE_DISABLE_AI/);
    expect(configError({ ENSEMBLE_ROLE: 'inference', ENSEMBLE_API_KEYS: 'k', ENSEMBLE_INFERENCE_URL: 'http://x:1/v1' })).toMatch(/ENSEMBLE_INFERENCE_URL is for sync processes/);
    expect(configError({ ENSEMBLE_ROLE: 'cluster' })).toMatch(/ENSEMBLE_ROLE/);
    expect(configError({ ENSEMBLE_ROLE: 'sync', ENSEMBLE_INFERENCE_URL: 'gpu1:8000' })).toMatch(/must be an http:\/\/ or https:\/\/ URL/);
    expect(configError({ ENSEMBLE_ROLE: 'sync', ENSEMBLE_INFERENCE_URL: 'not a url' })).toMatch(/is not a URL/);
    expect(configError({ ENSEMBLE_INFERENCE_EMBED_URL: 'http://x:1/v1' })).toMatch(/is used with ENSEMBLE_INFERENCE_URL/);
    expect(configError({ ENSEMBLE_INFERENCE_CHAT: 'maybe' })).toMatch(/ENSEMBLE_INFERENCE_CHAT/);
    // A sync process may run without AI at all.
    expect(loadConfig(env({ ENSEMBLE_ROLE: 'sync', ENSEMBLE_DISABLE_AI: 'true' })).ENSEMBLE_ROLE).toBe('sync');
  });

  it('a process with a bad role configuration exits with the configuration exit code and the message', async () => {
    const err = await spawnServer({ ENSEMBLE_ROLE: 'inference', ENSEMBLE_DISABLE_AI: 'false' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(new RegExp(`exited \\(${EXIT_CODES.badConfig}\\)`));
    expect((err as Error).message).toMatch(/ENSEMBLE_ROLE=inference serves only \/v1/);
  }, 30_000);
});

describe('an inference worker (ENSEMBLE_ROLE=inference)', () => {
  let worker: ServerProcess;
  beforeAll(async () => {
    worker = await spawnServer({ ENSEMBLE_ROLE: 'inference', ENSEMBLE_DISABLE_AI: 'false', ENSEMBLE_API_KEYS: 'sk-w', ENSEMBLE_DEVICE: 'cpu' }, { timeoutMs: 60_000 });
  }, 90_000);
  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
  });

  it('serves /v1, /healthz and /metrics', async () => {
    const models = await new OpenAI({ baseURL: `${worker.url}/v1`, apiKey: 'sk-w', maxRetries: 0 }).models.list();
    expect(models.data.map((m) => (m as { task?: string }).task).sort()).toEqual(['embedding', 'image-generation', 'text-generation']);
    const health = await (await fetch(`${worker.url}/healthz`)).json();
    expect(health).toMatchObject({ ok: true, role: 'inference', device: 'cpu' });
    expect(await (await fetch(`${worker.url}/metrics`)).text()).toMatch(/ensemble_inference_active_sequences/);
  });

  it('serves no rooms, no sync endpoint and no web client', async () => {
    expect((await fetch(`${worker.url}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(404);
    expect((await fetch(`${worker.url}/`)).status).toBe(404);
    // A websocket upgrade to /sync is not taken: no upgrade, a plain HTTP answer.
    const outcome = await new Promise<string>((resolve) => {
      const req = http.get(`${worker.url}/sync/room?token=x`, { headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
      req.once('upgrade', (_res, socket) => {
        socket.destroy();
        resolve('open');
      });
      req.once('response', (res) => {
        res.resume();
        resolve(`http ${res.statusCode}`);
      });
      req.once('error', () => resolve('refused'));
    });
    expect(outcome).toBe('http 404');
  });

  it("puts no per-key rate on its keys (each is a sync process sending every room's requests)", async () => {
    // 100 at once: past the burst (60) and a minute's share of the rate /v1 has beside the rooms.
    const client = new OpenAI({ baseURL: `${worker.url}/v1`, apiKey: 'sk-w', maxRetries: 0 });
    const answers = await Promise.allSettled(Array.from({ length: 100 }, () => client.models.list()));
    expect(answers.filter((a) => a.status === 'rejected').map((a) => String((a as PromiseRejectedResult).reason))).toEqual([]);
  });
});

describe('an inference worker with ENSEMBLE_API_RATE_PER_MIN set', () => {
  it('limits each key to it (burst: a tenth of the rate)', async () => {
    const worker = await spawnServer({ ENSEMBLE_ROLE: 'inference', ENSEMBLE_DISABLE_AI: 'false', ENSEMBLE_API_KEYS: 'sk-w', ENSEMBLE_DEVICE: 'cpu', ENSEMBLE_API_RATE_PER_MIN: '30' }, { timeoutMs: 60_000 });
    try {
      const client = new OpenAI({ baseURL: `${worker.url}/v1`, apiKey: 'sk-w', maxRetries: 0 });
      const answers = await Promise.allSettled(Array.from({ length: 4 }, () => client.models.list()));
      expect(answers.map((a) => (a.status === 'fulfilled' ? 200 : (a.reason as { status?: number }).status)).sort()).toEqual([200, 200, 200, 429]);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  }, 90_000);
});
