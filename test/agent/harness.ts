import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, RoomResponse, RoomKind, ServerToClientEvents } from '../../shared/src/index';
import { COLLAB_NAMESPACE, SYNC_PATH, storyOf } from '../../shared/src/index';
import { createAgentExtension, type AgentExtension, type AgentOptions } from '../../server/src/agent/index';
import type { EngineLike } from '../../server/src/agent/engine';
import { loadConfig } from '../../server/src/config';
import { InferenceEngine } from '../../server/src/inference/index';
import { createEnsembleServer, type EnsembleServer } from '../../server/src/server';

const REPO = path.resolve(import.meta.dirname, '../..');
const serverRequire = createRequire(path.join(REPO, 'server/package.json'));
/** Node 20 has no global WebSocket: y-websocket needs the `ws` implementation. */
export const WS = serverRequire('ws') as typeof globalThis.WebSocket;

export type CollabClient = Socket<ServerToClientEvents, ClientToServerEvents>;

let sharedEngine: Promise<InferenceEngine> | null = null;

/** The real inference engine on the built-in models (server/src/inference), loaded once per test file. */
export function loadEngine(): Promise<InferenceEngine> {
  sharedEngine ??= (async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent' } as NodeJS.ProcessEnv);
    return InferenceEngine.load({
      modelsDir: config.ENSEMBLE_MODELS_DIR,
      device: (process.env.ENSEMBLE_DEVICE as 'cpu' | 'cuda' | 'auto' | undefined) ?? 'cpu',
      maxBatch: config.ENSEMBLE_MAX_BATCH,
      maxQueue: config.ENSEMBLE_MAX_QUEUE,
      logger: { info: () => {}, warn: () => {} },
    });
  })();
  return sharedEngine;
}

/**
 * The real engine with its output delivered at a pace a person can watch (and press Stop during):
 * every chunk is held `msPerChunk`, and generations run to their token limit instead of stopping
 * at end-of-text. The text is still the model's own.
 */
export function pacedEngine(engine: InferenceEngine, msPerChunk: number): EngineLike {
  return {
    models: () => engine.models(),
    embed: (texts) => engine.embed(texts),
    generateImage: (req) => engine.generateImage(req),
    generate(req) {
      const inner = engine.generate({ ...req, stop: [], ignoreEos: true });
      return {
        result: inner.result,
        abort: () => inner.abort(),
        async *[Symbol.asyncIterator]() {
          for await (const chunk of inner) {
            await new Promise((resolve) => setTimeout(resolve, msPerChunk));
            yield chunk;
          }
        },
      };
    },
  };
}

export interface TestServer {
  server: EnsembleServer;
  agent: AgentExtension;
  port: number;
  http: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function startServer(opts: { dataDir?: string; engine?: EngineLike | null; agent?: Partial<AgentOptions>; env?: Record<string, string> } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'ensemble-agent-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ENSEMBLE_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ENSEMBLE_RATE_LIMIT_PER_MIN: '100000',
    ENSEMBLE_FLUSH_MS: '10',
    ...opts.env,
  } as NodeJS.ProcessEnv);
  const engine = opts.engine === undefined ? await loadEngine() : opts.engine;
  const agent = createAgentExtension({ engine, ...opts.agent });
  const server = await createEnsembleServer(config, { extensions: [agent] });
  const { port } = await server.listen();
  return {
    server,
    agent,
    port,
    http: `http://127.0.0.1:${port}`,
    dataDir,
    close: async () => {
      await server.close();
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export async function api<T>(base: string, method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(base + url, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

export async function createRoom(base: string, kind: RoomKind = 'writers-room', displayName = 'Olivia'): Promise<RoomResponse> {
  const r = await api<RoomResponse>(base, 'POST', '/api/rooms', { name: `room ${Math.random().toString(36).slice(2, 7)}`, kind, displayName });
  if (r.status !== 201) throw new Error(`create room: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function joinRoom(base: string, joinCode: string, displayName: string, role?: 'editor' | 'viewer'): Promise<RoomResponse> {
  const r = await api<RoomResponse>(base, 'POST', '/api/rooms/join', { joinCode, displayName, ...(role ? { role } : {}) });
  if (r.status !== 200) throw new Error(`join room: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export interface Member {
  doc: Y.Doc;
  provider: WebsocketProvider;
  socket: CollabClient;
  token: string;
  memberId: string;
  close(): void;
}

/** A member as the web client is one: a stock y-websocket provider and a socket.io client. */
export async function connectMember(port: number, roomId: string, token: string, memberId: string, opts: { sync?: boolean } = {}): Promise<Member> {
  const doc = new Y.Doc();
  let provider: WebsocketProvider | null = null;
  if (opts.sync !== false) {
    provider = new WebsocketProvider(`ws://127.0.0.1:${port}${SYNC_PATH}`, roomId, doc, { params: { token }, WebSocketPolyfill: WS, disableBc: true });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('sync timeout')), 10_000);
      provider!.once('sync', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  const socket: CollabClient = io(`http://127.0.0.1:${port}${COLLAB_NAMESPACE}`, { auth: { token }, transports: ['websocket'], forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (e) => reject(e));
  });
  return {
    doc,
    provider: provider as WebsocketProvider,
    socket,
    token,
    memberId,
    close() {
      socket.disconnect();
      provider?.destroy();
      doc.destroy();
    },
  };
}

/** Emits with an acknowledgement and resolves with it. */
export function call<R = Record<string, unknown>>(socket: CollabClient, event: string, payload: unknown, timeoutMs = 20_000): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ack for ${event}`)), timeoutMs);
    (socket.emit as (ev: string, ...a: unknown[]) => void)(event, payload, (res: R) => {
      clearTimeout(t);
      resolve(res);
    });
  });
}

export function waitFor(pred: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = (): void => {
      if (pred()) return resolve();
      if (Date.now() - start > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

/** Types a paragraph into the member's doc the way y-prosemirror stores it. */
export function typeParagraph(doc: Y.Doc, text: string): Y.XmlText {
  const p = new Y.XmlElement('paragraph');
  const t = new Y.XmlText();
  doc.transact(() => {
    storyOf(doc).push([p]);
    p.insert(0, [t]);
    t.insert(0, text);
  });
  return t;
}

export function anchorAtEnd(t: Y.XmlText): string {
  return Buffer.from(Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(t, t.length))).toString('base64');
}
