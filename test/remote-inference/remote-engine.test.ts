/**
 * RemoteInference against real Ensemble /v1 servers on loopback (the real engine on the built-in
 * models): the same text, vectors and images as the engine in-process, failover past a dead or
 * stalled engine, and a clear error for an engine whose answers are not the OpenAI format.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../server/src/config';
import { InferenceError } from '../../server/src/inference/index';
import { RemoteInference, type RemoteInferenceOptions } from '../../server/src/remote-inference/index';
import { KEY, startApiServer, waitFor, type ApiServer } from '../openai/server';

let worker: ApiServer;
const quiet = { info: () => {}, warn: () => {} };
const engines: RemoteInference[] = [];
const servers: http.Server[] = [];

async function connect(urls: string[], extra: Partial<RemoteInferenceOptions> = {}): Promise<RemoteInference> {
  const remote = await RemoteInference.connect({ text: { urls, apiKey: KEY }, chat: 'auto', extendedSampling: true, stallMs: 5000, healthMs: 60_000, logger: quiet, ...extra });
  engines.push(remote);
  return remote;
}

/** A local HTTP server answering with `handler` (an engine that misbehaves in one way). */
async function brokenEngine(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

/** A port nothing listens on. */
async function deadUrl(): Promise<string> {
  const url = await brokenEngine(() => {});
  const server = servers.pop()!;
  await new Promise((resolve) => server.close(resolve));
  return url;
}

beforeAll(async () => {
  worker = await startApiServer({ maxBatch: 8 });
}, 60_000);
afterAll(async () => {
  for (const e of engines) await e.close();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  await worker?.close();
});

const textModel = () => worker.engine.models().find((m) => m.task === 'text-generation')!;

describe('RemoteInference over a real Ensemble worker', () => {
  it('lists the worker models with their tasks and context length', async () => {
    const remote = await connect([worker.baseURL]);
    const local = worker.engine.models();
    expect(remote.models().map((m) => [m.id, m.task]).sort()).toEqual(local.map((m) => [m.id, m.task]).sort());
    expect(remote.models().find((m) => m.id === textModel().id)).toMatchObject({ contextLength: textModel().contextLength, instruct: false });
  });

  it('streams the same text as the engine in-process, with the same sampling (seeded, top-k, penalty, min tokens)', async () => {
    const remote = await connect([worker.baseURL]);
    const req = { prompt: 'Once upon a time', roomId: 'r', maxTokens: 20, temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1, seed: 5, minTokens: 8 };
    const stream = remote.generate(req);
    const chunks: string[] = [];
    for await (const c of stream) chunks.push(c.text);
    const result = await stream.result;
    const local = await worker.engine.generate(req).result;
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join('')).toBe(local.text);
    expect(result).toMatchObject({ text: local.text, finishReason: local.finishReason, tokens: local.tokens });
  });

  it('embeds and draws exactly what the engine does', async () => {
    const remote = await connect([worker.baseURL]);
    const [a, b] = await remote.embed(['a cat on the moon', 'rain']);
    const [la, lb] = await worker.engine.embed(['a cat on the moon', 'rain']);
    expect(Array.from(a!)).toEqual(Array.from(la!));
    expect(Array.from(b!)).toEqual(Array.from(lb!));
    const png = await remote.generateImage({ prompt: 'a red apple', seed: 42, size: 64 });
    expect(Buffer.from(png).equals(Buffer.from(await worker.engine.generateImage({ prompt: 'a red apple', seed: 42, size: 64 })))).toBe(true);
  });

  it('a stop frees the slot on the worker at its next step', async () => {
    const remote = await connect([worker.baseURL]);
    const abortedBefore = await worker.outcomes('aborted');
    const stream = remote.generate({ prompt: 'Once', roomId: 'r', maxTokens: 400, ignoreEos: true, temperature: 1 });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    stream.abort();
    expect((await stream.result).finishReason).toBe('aborted');
    const scheduler = worker.engine.scheduler(textModel().id);
    await waitFor(() => scheduler.running === 0, 3000, 'the worker to drop the aborted generation');
    expect(await worker.outcomes('aborted')).toBe(abortedBefore + 1);
  });

  it('a deadline ends a running generation with what it produced', async () => {
    const slow = await startApiServer({ stepDelayMs: 40 });
    try {
      const remote = await connect([slow.baseURL]);
      const result = await remote.generate({ prompt: 'Once', roomId: 'r', maxTokens: 400, ignoreEos: true, deadlineMs: 600 }).result;
      expect(result.finishReason).toBe('deadline');
      expect(result.text.length).toBeGreaterThan(0);
    } finally {
      await slow.close();
    }
  }, 30_000);
});

describe('an instruct model on the worker', () => {
  it('is served through chat completions (the worker says instruct), with the text the engine gives', async () => {
    const qwen = await startApiServer({ textModel: path.join(REPO_ROOT, 'models/fixtures/hf/qwen2-gqa') });
    try {
      const remote = await connect([qwen.baseURL]);
      const info = remote.models().find((m) => m.task === 'text-generation')!;
      expect(info.instruct).toBe(true);
      const req = { prompt: '', messages: [{ role: 'user' as const, content: 'Write one line about rain.' }], roomId: 'r', maxTokens: 12, temperature: 0 };
      const [viaApi, local] = await Promise.all([remote.generate(req).result, qwen.engine.generate(req).result]);
      expect(viaApi.text).toBe(local.text);
      expect(viaApi.promptTokens).toBe(local.promptTokens);
      // A base-model request shape is still allowed (completions); a chat request to a base model is refused before any HTTP.
      const base = await connect([worker.baseURL]);
      expect(() => base.generate(req)).toThrow(/served through \/v1\/completions/);
    } finally {
      await qwen.close();
    }
  }, 60_000);
});

describe('failover and bad engines', () => {
  it('a dead engine first in the list: the request goes to the next one', async () => {
    const remote = await connect([await deadUrl(), worker.baseURL]);
    const text = await remote.generate({ prompt: 'The dog', roomId: 'r', maxTokens: 6, temperature: 0 }).result;
    expect(text.text).toBe((await worker.engine.generate({ prompt: 'The dog', roomId: 'r', maxTokens: 6, temperature: 0 }).result).text);
    expect(await remote.embed(['x'])).toHaveLength(1);
  });

  it('an engine that accepts and then says nothing is given up after the stall timeout, and the next one answers', async () => {
    const stalled = await brokenEngine((req, res) => {
      if (req.url?.endsWith('/models')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: textModel().id, object: 'model' }] }));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders(); // and nothing more
    });
    const remote = await connect([stalled, worker.baseURL], { stallMs: 300 });
    // Both are up and equally loaded: the pool rotates, so ask twice to be sure one starts at the stalled engine.
    for (let i = 0; i < 2; i++) {
      const started = Date.now();
      const r = await remote.generate({ prompt: 'The dog', roomId: 'r', maxTokens: 4, temperature: 0 }).result;
      expect(r.text.length).toBeGreaterThan(0);
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });

  it('a malformed stream ends the generation with bad_response, saying what was wrong', async () => {
    const garbage = await brokenEngine((req, res) => {
      if (req.url?.endsWith('/models')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'm', object: 'model' }] }));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"choices": [{"text": 42}]}\n\n');
    });
    const remote = await connect([garbage]);
    const err = await remote.generate({ prompt: 'x', roomId: 'r' }).result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferenceError);
    expect((err as InferenceError).code).toBe('bad_response');
    expect((err as InferenceError).message).toMatch(/choices\.0\.text/);
  });

  it('an engine that goes away mid-stream ends the generation unavailable, keeping nothing half-said as a success', async () => {
    const dying = await brokenEngine((req, res) => {
      if (req.url?.endsWith('/models')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'm', object: 'model' }] }));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"choices": [{"index": 0, "text": "Once", "finish_reason": null}]}\n\n');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    const remote = await connect([dying, worker.baseURL]);
    // Only the dying engine lists 'm', so it is tried first; once text was streamed no other engine may take over.
    const stream = remote.generate({ prompt: 'x', roomId: 'r', model: 'm' });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const c of stream) seen.push(c.text);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['Once']);
    expect((err as InferenceError).code).toBe('unavailable');
    expect((err as InferenceError).message).toMatch(/stopped mid-stream/);
  });

  it('no engine up and no model configured: a clear unknown_model error, not a hang', async () => {
    const remote = await connect([await deadUrl()]);
    expect(remote.models()).toEqual([]);
    expect(() => remote.generate({ prompt: 'x', roomId: 'r' })).toThrow(/no text-generation model/);
    await expect(remote.embed(['x'])).rejects.toThrow(/no embedding model/);
  });
});
