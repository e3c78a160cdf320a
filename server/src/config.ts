import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/**
 * Comma-separated OpenAI-compatible base URLs ("http://gpu1:8000/v1"); a bare origin gets "/v1",
 * which is where vLLM, TGI, llama.cpp's server, Ollama and Ensemble all serve the API.
 */
const baseUrls = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const urls: string[] = [];
    for (const raw of (v ?? '').split(',').map((u) => u.trim()).filter((u) => u.length > 0)) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        ctx.addIssue({ code: 'custom', message: `'${raw}' is not a URL (expected e.g. http://gpu1:8000/v1)` });
        continue;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        ctx.addIssue({ code: 'custom', message: `'${raw}' must be an http:// or https:// URL` });
        continue;
      }
      const path = url.pathname.replace(/\/+$/, '');
      urls.push(`${url.origin}${path === '' ? '/v1' : path}`);
    }
    return urls;
  });

/** Every setting comes from the environment; README's configuration table lists them all. */
export const ConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  ENSEMBLE_DATA_DIR: z.string().default('./data'),
  /** When set, rooms are stored in MongoDB instead of the embedded SQLite file. */
  MONGODB_URI: z.string().url().optional(),
  MONGODB_DB: z.string().default('ensemble'),
  /**
   * When set, several Ensemble processes serve the same rooms: each room's updates and awareness
   * fan out between them through Redis (scale/), and /collab events through the socket.io Redis adapter.
   */
  ENSEMBLE_REDIS_URL: z
    .string()
    .url()
    .refine((v) => /^rediss?:\/\//.test(v), 'ENSEMBLE_REDIS_URL must be a redis:// or rediss:// URL')
    .optional(),
  /** Prefix of every Redis key and channel this deployment uses (several deployments may share one Redis). */
  ENSEMBLE_REDIS_PREFIX: z.string().min(1).max(100).default('ensemble:'),
  /** Entries a room's Redis stream keeps (approximately): how far a process loading the room can catch up. */
  ENSEMBLE_REDIS_STREAM_MAXLEN: z.coerce.number().int().min(100).default(10_000),
  /**
   * How long a room's AI owner lease lives without renewal (renewed every third of it): how soon
   * another process takes over the room's AI after its owner died.
   */
  ENSEMBLE_AGENT_LEASE_MS: z.coerce.number().int().min(500).max(60_000).default(5000),
  /** HMAC secret for room tokens; generated and kept in the data directory when absent. */
  ENSEMBLE_TOKEN_SECRET: z.string().min(32, 'ENSEMBLE_TOKEN_SECRET must be at least 32 characters').optional(),
  ENSEMBLE_TOKEN_TTL_SEC: z.coerce.number().int().min(60).default(7 * 24 * 3600),
  /** Largest websocket frame accepted on /sync; bigger frames close the socket with 1009. */
  ENSEMBLE_MAX_MESSAGE_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  /** Structs (items, deletions' neighbours, gaps) one Yjs update may hold; bigger ones close with 4422. */
  ENSEMBLE_MAX_UPDATE_STRUCTS: z.coerce.number().int().min(1000).default(200_000),
  /** Deepest nesting of shared types (a paragraph in the story is 1, a list item's paragraph 3). */
  ENSEMBLE_MAX_DOC_DEPTH: z.coerce.number().int().min(8).max(100_000).default(64),
  /** Yjs client ids one update may introduce (a tab has one; forwarding other tabs' adds a few). */
  ENSEMBLE_MAX_NEW_CLIENTS: z.coerce.number().int().min(1).default(16),
  /** Bytes of updates a room holds while they wait for structs it has not seen yet. */
  ENSEMBLE_PENDING_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  /** Bytes per second one member may send on /sync (all its connections); past the burst its sockets are read slower. */
  ENSEMBLE_INBOUND_BYTES_PER_SEC: z.coerce.number().int().min(64 * 1024).default(1024 * 1024),
  ENSEMBLE_INBOUND_BURST_BYTES: z.coerce.number().int().min(1024 * 1024).default(4 * 1024 * 1024),
  /** New /sync connections per member per second (bursts of ten times that); more get 429. */
  ENSEMBLE_SYNC_CONNECTS_PER_SEC: z.coerce.number().min(0.1).default(2),
  /** How long such an update waits before its sender is asked to resync. */
  ENSEMBLE_PENDING_TTL_MS: z.coerce.number().int().min(100).default(10_000),
  /** Largest awareness state (serialized JSON) a client may set; bigger ones are dropped. */
  ENSEMBLE_MAX_AWARENESS_BYTES: z.coerce.number().int().min(256).max(1024 * 1024).default(8192),
  /** Awareness updates per second per connection (bursts of twice that); excess is dropped. */
  ENSEMBLE_AWARENESS_PER_SEC: z.coerce.number().int().min(1).default(30),
  /** Bytes waiting to be sent to one client beyond which it is disconnected (it is not reading). */
  ENSEMBLE_MAX_BUFFERED_BYTES: z.coerce.number().int().min(64 * 1024).default(4 * 1024 * 1024),
  /** Group commit: updates are written within this many ms of arrival. */
  ENSEMBLE_FLUSH_MS: z.coerce.number().int().min(1).max(1000).default(50),
  /** Compact a room's log into a snapshot once it holds this many updates. */
  ENSEMBLE_COMPACT_EVERY: z.coerce.number().int().min(10).default(500),
  /**
   * Shutdown (SIGTERM/SIGINT): how long a failing store is retried before the updates it did not
   * take are saved to a recovery file in the data directory instead.
   */
  ENSEMBLE_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(5000),
  /**
   * Automatic versions: every this many ms, one of each room changed since its last version
   * (manual or automatic). 0 turns the schedule off; versions are still taken before each restore.
   */
  ENSEMBLE_SNAPSHOT_INTERVAL_MS: z.coerce
    .number({ message: 'ENSEMBLE_SNAPSHOT_INTERVAL_MS must be a number of milliseconds (0 = off)' })
    .int('ENSEMBLE_SNAPSHOT_INTERVAL_MS must be a whole number of milliseconds')
    .refine((ms) => ms === 0 || (ms >= 100 && ms <= 7 * 24 * 3600 * 1000), {
      message: 'ENSEMBLE_SNAPSHOT_INTERVAL_MS must be 0 (off) or between 100 ms and 7 days (604800000)',
    })
    .default(10 * 60 * 1000),
  /** Room creations + joins allowed per address per minute. */
  ENSEMBLE_RATE_LIMIT_PER_MIN: z.coerce.number().int().min(1).default(30),
  /** Open sockets one member may hold, on /sync and on /collab each (more are refused: 429 / connect error). */
  ENSEMBLE_MAX_SOCKETS_PER_MEMBER: z.coerce.number().int().min(1).default(8),
  /** Open sockets one address may hold, on /sync and on /collab each. */
  ENSEMBLE_MAX_SOCKETS_PER_ADDRESS: z.coerce.number().int().min(1).default(64),
  /** Per-member token bucket for `proposal:vote`: burst, then this many per minute. */
  ENSEMBLE_VOTE_BURST: z.coerce.number().int().min(1).default(20),
  ENSEMBLE_VOTE_PER_MIN: z.coerce.number().int().min(1).default(60),
  /** Per-member token bucket for `recommend:next` and (separately) `recommend:dismiss`. */
  ENSEMBLE_RECOMMEND_BURST: z.coerce.number().int().min(1).default(10),
  ENSEMBLE_RECOMMEND_PER_MIN: z.coerce.number().int().min(1).default(30),
  /** Feedback rows (votes, accepts, rejects, dismissals) kept per member and room; more are not stored. */
  ENSEMBLE_MAX_FEEDBACK_PER_MEMBER: z.coerce.number().int().min(1).default(500),
  ENSEMBLE_MODELS_DIR: z.string().default(path.join(REPO_ROOT, 'models')),
  /** auto: CUDA if its provider loads, else WebGPU on a hardware adapter, else CPU (inference/device.ts). */
  ENSEMBLE_DEVICE: z.enum(['auto', 'cpu', 'webgpu', 'cuda']).default('auto'),
  /** A Hugging Face model folder (optimum / onnx-community layout) to serve as the text model instead of the manifest's. */
  ENSEMBLE_TEXT_MODEL: z.string().min(1).optional(),
  /** Which ONNX variant of ENSEMBLE_TEXT_MODEL to load, named the transformers.js way. */
  ENSEMBLE_TEXT_DTYPE: z.enum(['fp32', 'fp16', 'q8', 'q4', 'q4f16']).default('fp32'),
  /** A sentence-embedding folder (sentence-transformers exported by optimum / onnx-community) for recommendations. */
  ENSEMBLE_EMBED_MODEL: z.string().min(1).optional(),
  /** Start without loading models (the AI collaborator is then unavailable). */
  ENSEMBLE_DISABLE_AI: bool.default(false),
  /** ONNX Runtime intra-op threads per model session (default: ORT's choice, every physical core). */
  ENSEMBLE_THREADS: z.coerce.number().int().min(1).max(256).optional(),
  ENSEMBLE_MAX_BATCH: z.coerce.number().int().min(1).max(256).default(16),
  ENSEMBLE_MAX_QUEUE: z.coerce.number().int().min(1).default(256),
  /** Bearer keys of the OpenAI-compatible API (/v1), comma-separated; unset or empty: /v1 is not served. */
  ENSEMBLE_API_KEYS: z
    .string()
    .optional()
    .transform((v) => (v ?? '').split(',').map((k) => k.trim()).filter((k) => k.length > 0)),
  /**
   * Requests per minute per /v1 key, and the burst. Unset: 600 and 60 where /v1 serves outside
   * clients (ENSEMBLE_ROLE=all); no limit on an inference worker, whose keys are sync processes
   * each sending every room's requests (the engine's queue, 429 when full, is their backpressure).
   */
  ENSEMBLE_API_RATE_PER_MIN: z.coerce.number().int().min(1).optional(),
  ENSEMBLE_API_BURST: z.coerce.number().int().min(1).optional(),
  /**
   * Streamed /v1 answers: after a choice's first token, send its text at most every this many ms
   * (0: one event per token, as OpenAI). Default: 20 on an inference worker (its clients are sync
   * processes, for which the per-event cost is most of the remote path's cost), else 0.
   */
  ENSEMBLE_API_STREAM_INTERVAL_MS: z.coerce.number().int().min(0).max(1000).optional(),
  /**
   * all: rooms and models in one process; sync: rooms only, models through ENSEMBLE_INFERENCE_URL;
   * inference: models only (/v1, /healthz, /metrics), a GPU worker for sync processes.
   */
  ENSEMBLE_ROLE: z.enum(['all', 'sync', 'inference']).default('all'),
  /** OpenAI-compatible engines (Ensemble inference workers, vLLM, TGI, llama.cpp, Ollama) the agent uses instead of loading models. */
  ENSEMBLE_INFERENCE_URL: baseUrls,
  ENSEMBLE_INFERENCE_API_KEY: z.string().min(1).optional(),
  /** Model names on the remote engine per task (default: the first model each engine lists for it). */
  ENSEMBLE_INFERENCE_TEXT_MODEL: z.string().min(1).optional(),
  ENSEMBLE_INFERENCE_EMBED_MODEL: z.string().min(1).optional(),
  ENSEMBLE_INFERENCE_IMAGE_MODEL: z.string().min(1).optional(),
  /** Where embeddings and images come from when the text engine lacks them (default: ENSEMBLE_INFERENCE_URL), and their keys. */
  ENSEMBLE_INFERENCE_EMBED_URL: baseUrls,
  ENSEMBLE_INFERENCE_EMBED_API_KEY: z.string().min(1).optional(),
  ENSEMBLE_INFERENCE_IMAGE_URL: baseUrls,
  ENSEMBLE_INFERENCE_IMAGE_API_KEY: z.string().min(1).optional(),
  /** Text through /v1/chat/completions (an instruct model) or /v1/completions; auto: what the engine's model list says, else completions. */
  ENSEMBLE_INFERENCE_CHAT: z.enum(['auto', 'true', 'false']).default('auto'),
  /** extended: also send top_k, repetition_penalty, min_tokens (vLLM, Ensemble; others ignore them); openai: only OpenAI's own fields. */
  ENSEMBLE_INFERENCE_SAMPLING: z.enum(['extended', 'openai']).default('extended'),
  /** A remote generation that sends nothing for this long is given up (and retried elsewhere if nothing was streamed yet). */
  ENSEMBLE_INFERENCE_STALL_MS: z.coerce.number().int().min(100).default(15_000),
  /** How often each remote engine's /v1/models is polled to know it is up. */
  ENSEMBLE_INFERENCE_HEALTH_MS: z.coerce.number().int().min(100).default(5000),
  /** Directory with the built web client; served at / when it exists. */
  ENSEMBLE_CLIENT_DIR: z.string().default(path.join(REPO_ROOT, 'client/dist')),
  /** Comma-separated words the classroom moderation filter drops generations for. */
  ENSEMBLE_BLOCKLIST: z.string().optional(),
  /**
   * Fault injection for tests, off unless set: while a file exists at this path, every document
   * write to the store fails (storage/fault-injection.ts).
   */
  ENSEMBLE_FAULT_WRITES_FAIL_WHILE: z.string().optional(),
  /** Fault injection for tests, off unless set: the text models wait this many ms before each decode step (slow engines, mid-stream stops and kills). */
  ENSEMBLE_FAULT_STEP_DELAY_MS: z.coerce.number().int().min(1).max(10_000).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).superRefine((config, ctx) => {
  // The processes must share the rooms' storage; SQLite is one process's file.
  if (config.ENSEMBLE_REDIS_URL && !config.MONGODB_URI) {
    ctx.addIssue({
      code: 'custom',
      path: ['ENSEMBLE_REDIS_URL'],
      message: 'ENSEMBLE_REDIS_URL needs MONGODB_URI: processes sharing rooms over Redis must share one MongoDB (SQLite serves a single process)',
    });
  }
});
export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.superRefine(checkRole).safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** What each role needs from the rest of the configuration. */
function checkRole(c: Config, ctx: z.RefinementCtx): void {
  const issue = (path: keyof Config, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (c.ENSEMBLE_ROLE === 'inference') {
    if (c.ENSEMBLE_API_KEYS.length === 0) issue('ENSEMBLE_API_KEYS', 'ENSEMBLE_ROLE=inference serves only /v1, which needs at least one key in ENSEMBLE_API_KEYS');
    if (c.ENSEMBLE_DISABLE_AI) issue('ENSEMBLE_DISABLE_AI', 'ENSEMBLE_ROLE=inference exists to load the models; it cannot run with ENSEMBLE_DISABLE_AI');
    if (c.ENSEMBLE_INFERENCE_URL.length > 0) issue('ENSEMBLE_INFERENCE_URL', 'ENSEMBLE_ROLE=inference runs the models itself; ENSEMBLE_INFERENCE_URL is for sync processes');
  }
  if (c.ENSEMBLE_ROLE === 'sync' && c.ENSEMBLE_INFERENCE_URL.length === 0 && !c.ENSEMBLE_DISABLE_AI) {
    issue('ENSEMBLE_INFERENCE_URL', 'ENSEMBLE_ROLE=sync loads no models: set ENSEMBLE_INFERENCE_URL to one or more inference engines (or ENSEMBLE_DISABLE_AI=true)');
  }
  for (const key of ['ENSEMBLE_INFERENCE_EMBED_URL', 'ENSEMBLE_INFERENCE_IMAGE_URL'] as const) {
    if (c[key].length > 0 && c.ENSEMBLE_INFERENCE_URL.length === 0) issue(key, `${key} is used with ENSEMBLE_INFERENCE_URL (a remote text engine); set that too`);
  }
}
