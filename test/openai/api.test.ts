/**
 * Conformance of Ensemble's /v1 with the official `openai` client, against a real server on
 * loopback and the real engine on the built-in models (and the qwen2-gqa fixture for chat).
 */
import path from 'node:path';
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../server/src/config';
import { decodePng } from '../../server/src/inference/index';
import { KEY, startApiServer, waitFor, type ApiServer } from './server';

const QWEN = path.join(REPO_ROOT, 'models/fixtures/hf/qwen2-gqa');
let base: ApiServer;
let client: OpenAI;

beforeAll(async () => {
  base = await startApiServer({ maxBatch: 8 });
  client = new OpenAI({ baseURL: base.baseURL, apiKey: KEY, maxRetries: 0 });
}, 60_000);
afterAll(async () => base?.close());

const textModel = () => base.engine.models().find((m) => m.task === 'text-generation')!.id;

async function statusOf(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof APIError) return err;
    throw err;
  }
  throw new Error('expected an API error');
}

describe('models and completions', () => {
  it('lists the engine models', async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id).sort()).toEqual(base.engine.models().map((m) => m.id).sort());
    expect(list.data[0]!.object).toBe('model');
  });

  it('answers a completion field for field, n choices with seed + i', async () => {
    const r = await client.completions.create({ model: textModel(), prompt: 'Once upon a time', max_tokens: 8, seed: 7, n: 3, temperature: 0.9 });
    expect(r.object).toBe('text_completion');
    expect(r.id).toMatch(/^cmpl-/);
    expect(r.model).toBe(textModel());
    expect(typeof r.created).toBe('number');
    expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    for (const c of r.choices) expect(['stop', 'length']).toContain(c.finish_reason);
    expect(r.usage!.prompt_tokens).toBe(3 * base.engine.tokenizer(textModel()).encode('Once upon a time').length);
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens);
    // Choice i is the same generation as a single request with seed 7 + i.
    const second = await client.completions.create({ model: textModel(), prompt: 'Once upon a time', max_tokens: 8, seed: 8, temperature: 0.9 });
    expect(second.choices[0]!.text).toBe(r.choices[1]!.text);
  });

  it("takes vLLM's sampling extensions (top_k, repetition_penalty, min_tokens, ignore_eos) as the engine's own options", async () => {
    const body = { model: textModel(), prompt: 'The cat', max_tokens: 12, temperature: 0.9, top_p: 0.9, seed: 11, top_k: 20, repetition_penalty: 1.3, min_tokens: 12, ignore_eos: true };
    const r = await client.completions.create(body as unknown as OpenAI.CompletionCreateParamsNonStreaming);
    const direct = await base.engine.generate({ prompt: 'The cat', roomId: 'x', maxTokens: 12, temperature: 0.9, topP: 0.9, seed: 11, topK: 20, repetitionPenalty: 1.3, minTokens: 12, ignoreEos: true }).result;
    expect(r.choices[0]!.text).toBe(direct.text);
    expect(r.usage!.completion_tokens).toBe(12);
    const models = (await client.models.list()).data as Array<OpenAI.Model & { task?: string; max_model_len?: number }>;
    expect(models.find((m) => m.id === textModel())).toMatchObject({ task: 'text-generation', max_model_len: base.engine.models().find((m) => m.id === textModel())!.contextLength });
  });

  it('max_tokens bounds the output and ends with length', async () => {
    const r = await client.completions.create({ model: textModel(), prompt: 'The', max_tokens: 3, temperature: 0, stop: ['zzzz'] });
    expect(r.usage!.completion_tokens).toBeLessThanOrEqual(3);
    if (r.usage!.completion_tokens === 3) expect(r.choices[0]!.finish_reason).toBe('length');
  });

  it('stop (string or array) ends the text before the stop string, with finish_reason stop', async () => {
    const plain = (await client.completions.create({ model: textModel(), prompt: 'Once upon a time', max_tokens: 24, temperature: 0 })).choices[0]!.text;
    const visible = plain.search(/\S/);
    const cut = plain.slice(visible + 4, visible + 7);
    expect(cut.trim().length).toBeGreaterThan(0);
    for (const stop of [cut, ['qqqqq', cut]]) {
      const r = await client.completions.create({ model: textModel(), prompt: 'Once upon a time', max_tokens: 24, temperature: 0, stop });
      expect(r.choices[0]!.text).toBe(plain.slice(0, plain.indexOf(cut)));
      expect(r.choices[0]!.finish_reason).toBe('stop');
    }
  });

  it('streams server-sent events; include_usage adds a final usage chunk with no choices', async () => {
    const stream = await client.completions.create({ model: textModel(), prompt: 'The fox', max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '';
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    for (const c of chunks) text += c.choices[0]?.text ?? '';
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens).toBeGreaterThan(0);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toMatch(/stop|length/);
    const plain = await client.completions.create({ model: textModel(), prompt: 'The fox', max_tokens: 12, temperature: 0 });
    expect(text).toBe(plain.choices[0]!.text);
  });

  it('ENSEMBLE_API_STREAM_INTERVAL_MS merges later deltas into fewer events: the first at once, the same text', async () => {
    const paced = await startApiServer({ stepDelayMs: 5 }, { ENSEMBLE_API_STREAM_INTERVAL_MS: '40' });
    try {
      const c = new OpenAI({ baseURL: paced.baseURL, apiKey: KEY, maxRetries: 0 });
      const body = { model: textModel(), prompt: 'Once upon a time', max_tokens: 40, temperature: 0, ignore_eos: true };
      const whole = await c.completions.create(body as unknown as OpenAI.CompletionCreateParamsNonStreaming);
      const stream = await c.completions.create({ ...body, stream: true } as unknown as OpenAI.CompletionCreateParamsStreaming);
      const texts: string[] = [];
      for await (const chunk of stream) if (chunk.choices[0]?.text) texts.push(chunk.choices[0].text);
      expect(texts.join('')).toBe(whole.choices[0]!.text);
      expect(whole.usage!.completion_tokens).toBe(40);
      // 40 tokens at >= 5 ms a step, sent at most every 40 ms after the first: far fewer than 40 events.
      expect(texts.length).toBeGreaterThan(1);
      expect(texts.length).toBeLessThan(20);
    } finally {
      await paced.close();
    }
  });

  it('embeddings as floats and as base64 (the client default)', async () => {
    const embed = base.engine.models().find((m) => m.task === 'embedding')!;
    const r = await client.embeddings.create({ model: embed.id, input: ['a cat', 'a dog'] });
    expect(r.object).toBe('list');
    expect(r.data).toHaveLength(2);
    expect(r.data[1]!.index).toBe(1);
    expect(r.data[0]!.embedding).toHaveLength(embed.dims!);
    const [direct] = await base.engine.embed(['a cat'], { model: embed.id });
    expect(r.data[0]!.embedding[0]).toBeCloseTo(direct![0]!, 5);
    const f = await client.embeddings.create({ model: embed.id, input: 'a cat', encoding_format: 'float' });
    expect(f.data[0]!.embedding[3]).toBeCloseTo(direct![3]!, 5);
  });

  it('images as b64_json PNGs', async () => {
    const r = await client.images.generate({ prompt: 'a cat under the moon', response_format: 'b64_json', size: '256x256' });
    const png = Buffer.from(r.data![0]!.b64_json!, 'base64');
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(decodePng(new Uint8Array(png)).width).toBe(256);
  });
});

describe('errors in OpenAI shape', () => {
  it('400 for a bad body, 400 for chat on a base model, 404 for an unknown model', async () => {
    const bad = await statusOf(client.completions.create({ model: textModel(), prompt: 'x', temperature: 5 }));
    expect(bad.status).toBe(400);
    expect(bad.param).toBe('temperature');
    expect(bad.type).toBe('invalid_request_error');
    const chat = await statusOf(client.chat.completions.create({ model: textModel(), messages: [{ role: 'user', content: 'hi' }] }));
    expect(chat.status).toBe(400);
    expect(chat.code).toBe('no_chat_template');
    const unknown = await statusOf(client.completions.create({ model: 'nope', prompt: 'x' }));
    expect(unknown.status).toBe(404);
    expect(unknown.code).toBe('model_not_found');
    const raw = await fetch(`${base.baseURL}/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: '{"model":' });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
  });

  it('400 for bad embedding and image bodies (url images are not served)', async () => {
    const embed = base.engine.models().find((m) => m.task === 'embedding')!.id;
    const e = await statusOf(client.embeddings.create({ model: embed, input: [] }));
    expect([e.status, e.param]).toEqual([400, 'input']);
    const wrongTask = await statusOf(client.embeddings.create({ model: textModel(), input: 'a cat' }));
    expect([wrongTask.status, wrongTask.code]).toEqual([400, 'wrong_model_task']);
    const url = await statusOf(client.images.generate({ prompt: 'a cat', response_format: 'url' }));
    expect([url.status, url.param]).toEqual([400, 'response_format']);
    const oblong = await statusOf(client.images.generate({ prompt: 'a cat', response_format: 'b64_json', size: '256x128' as '256x256' }));
    expect([oblong.status, oblong.param]).toEqual([400, 'size']);
  });

  it('401 without a key or with a wrong one', async () => {
    const wrong = new OpenAI({ baseURL: base.baseURL, apiKey: 'sk-wrong', maxRetries: 0 });
    const e = await statusOf(wrong.models.list());
    expect(e.status).toBe(401);
    expect(e.code).toBe('invalid_api_key');
    const none = await fetch(`${base.baseURL}/models`);
    expect(none.status).toBe(401);
  });

  it('a client abort mid-stream frees its slot', async () => {
    const scheduler = base.engine.scheduler(textModel());
    const abortedBefore = await base.outcomes('aborted');
    const stream = await client.completions.create({ model: textModel(), prompt: 'Once', max_tokens: 200, temperature: 1, seed: 3, stream: true });
    let got = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.text) got++;
      if (got === 2) break; // the client's iterator aborts the HTTP request
    }
    expect(got).toBe(2);
    await waitFor(() => scheduler.running === 0, 3000, 'the aborted generation to leave the batch');
    // It left because it was aborted, not because it ran to its end.
    expect(await base.outcomes('aborted')).toBe(abortedBefore + 1);
  });
});

describe('busy and rate limits', () => {
  it('429 with Retry-After when the engine queue is full', async () => {
    const tiny = await startApiServer({ maxBatch: 1, maxQueue: 1 });
    try {
      const model = tiny.engine.models().find((m) => m.task === 'text-generation')!.id;
      const running = tiny.engine.generate({ prompt: 'Once', roomId: 'a', maxTokens: 100_000, ignoreEos: true });
      await running[Symbol.asyncIterator]().next();
      const queued = tiny.engine.generate({ prompt: 'Once', roomId: 'b', maxTokens: 10, ignoreEos: true });
      const c = new OpenAI({ baseURL: tiny.baseURL, apiKey: KEY, maxRetries: 0 });
      const e = await statusOf(c.completions.create({ model, prompt: 'hello', max_tokens: 4 }));
      expect(e.status).toBe(429);
      expect(e.code).toBe('engine_busy');
      expect(Number(e.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
      running.abort();
      queued.abort();
    } finally {
      await tiny.close();
    }
  }, 30_000);

  it('429 with Retry-After past a key rate', async () => {
    const limited = await startApiServer({}, { ENSEMBLE_API_BURST: '2', ENSEMBLE_API_RATE_PER_MIN: '1' });
    try {
      const c = new OpenAI({ baseURL: limited.baseURL, apiKey: KEY, maxRetries: 0 });
      await c.models.list();
      await c.models.list();
      const e = await statusOf(c.models.list());
      expect(e.status).toBe(429);
      expect(e.code).toBe('rate_limit_exceeded');
      expect(Number(e.headers?.get('retry-after'))).toBeGreaterThan(1);
      // Another key has its own budget.
      await new OpenAI({ baseURL: limited.baseURL, apiKey: 'sk-other', maxRetries: 0 }).models.list();
    } finally {
      await limited.close();
    }
  }, 30_000);
});

describe('chat and batch invariance on the qwen2-gqa fixture', () => {
  let qwen: ApiServer;
  let q: OpenAI;
  let model: string;
  beforeAll(async () => {
    qwen = await startApiServer({ textModel: QWEN, maxBatch: 8, maxPerRoom: 8 }); // one key is one room: all 8 may run at once
    q = new OpenAI({ baseURL: qwen.baseURL, apiKey: KEY, maxRetries: 0 });
    model = qwen.engine.models().find((m) => m.task === 'text-generation')!.id;
  }, 60_000);
  afterAll(async () => qwen?.close());

  it('chat completions through the chat template, streaming and not', async () => {
    const messages = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Name a colour.' }];
    const r = await q.chat.completions.create({ model, messages, max_tokens: 10, temperature: 0 });
    expect(r.object).toBe('chat.completion');
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(r.choices[0]!.message.role).toBe('assistant');
    // The rendered template is counted, markup included, not only the messages' text.
    const tok = qwen.engine.tokenizer(model);
    expect(r.usage!.prompt_tokens).toBeGreaterThan(tok.encode('Be brief.', false).length + tok.encode('Name a colour.', false).length);
    const stream = await q.chat.completions.create({ model, messages, max_tokens: 10, temperature: 0, stream: true, n: 2 });
    const texts = ['', ''];
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      for (const c of chunk.choices) texts[c.index] += c.delta.content ?? '';
    }
    expect(texts).toEqual([r.choices[0]!.message.content, r.choices[0]!.message.content]);
  });

  it('a greedy completion alone equals the same completion among 7 other streams', async () => {
    const prompt = 'The quick brown fox';
    const alone = await q.completions.create({ model, prompt, max_tokens: 24, temperature: 0 });
    const scheduler = qwen.engine.scheduler(model);
    let peak = 0;
    const poll = setInterval(() => (peak = Math.max(peak, scheduler.running)), 1);
    const others = Array.from({ length: 7 }, (_, i) => 'word '.repeat(1 + i * 3) + `number ${i}`);
    const streams = others.map(async (p) => {
      const s = await q.completions.create({ model, prompt: p, max_tokens: 24, temperature: 0, stream: true });
      let text = '';
      for await (const chunk of s) text += chunk.choices[0]?.text ?? '';
      return text;
    });
    const together = q.completions.create({ model, prompt, max_tokens: 24, temperature: 0 });
    const [batched] = await Promise.all([together, ...streams]);
    clearInterval(poll);
    expect(peak).toBeGreaterThan(1); // they did share decode steps
    expect(alone.choices[0]!.text.length).toBeGreaterThan(0);
    expect((batched as typeof alone).choices[0]!.text).toBe(alone.choices[0]!.text);
  }, 60_000);
});
