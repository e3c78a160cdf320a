// The agent tests' vocabulary on top of test/helpers/ (server, clients, waits): a server with the
// AI collaborator on the real engine, and members as the web client is one (y-websocket + /collab).
import { rmSync } from 'node:fs';
import * as Y from 'yjs';
import type { Ack, ProposalDelta, ProposalDone, ProposalInfo, RoomResponse, RoomKind } from '../../shared/src/index';
import { SYNC_PATH, storyOf, storyText } from '../../shared/src/index';
import { createAgentExtension, type AgentExtension, type AgentOptions } from '../../server/src/agent/index';
import { loadConfig } from '../../server/src/config';
import { GenerationStream, InferenceEngine, InferenceError, type Inference } from '../../server/src/inference/index';
import type { EnsembleServer } from '../../server/src/server';
import * as helpers from '../helpers/index';
import type { CollabSocket, TestClient } from '../helpers/index';

export { joinRoom } from '../helpers/index';

export type CollabClient = CollabSocket;

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
export function pacedEngine(engine: InferenceEngine, msPerChunk: number): Inference {
  return {
    device: engine.device,
    models: () => engine.models(),
    embed: (texts) => engine.embed(texts),
    generateImage: (req) => engine.generateImage(req),
    close: async () => {},
    generate(req) {
      const inner = engine.generate({ ...req, stop: [], ignoreEos: true });
      const paced = new GenerationStream(() => inner.abort());
      void (async () => {
        try {
          for await (const chunk of inner) {
            await new Promise((resolve) => setTimeout(resolve, msPerChunk));
            paced.push(chunk);
          }
          paced.finish(await inner.result);
        } catch (err) {
          paced.fail(err instanceof InferenceError ? err : new InferenceError('internal', String(err)));
        }
      })();
      return paced;
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

/** test/helpers' server with the AI collaborator (the shared real engine unless `engine` is given). The data dir is kept: removeDir it. */
export async function startServer(opts: { dataDir?: string; engine?: Inference | null; agent?: Partial<AgentOptions>; env?: Record<string, string> } = {}): Promise<TestServer> {
  const engine = opts.engine === undefined ? await loadEngine() : opts.engine;
  const agent = createAgentExtension({ engine, ...opts.agent });
  const srv = await helpers.startServer({ dataDir: opts.dataDir, keepData: true, extensions: [agent], env: { ENSEMBLE_FLUSH_MS: '10', ...opts.env } });
  return { server: srv.server, agent, port: srv.port, http: srv.url, dataDir: srv.dataDir, close: () => srv.close() };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function api<T>(base: string, method: string, url: string, body?: unknown, token?: string): Promise<helpers.ApiResult<T>> {
  return helpers.api<T>(base, method, url, { body, token });
}

export function createRoom(base: string, kind: RoomKind = 'writers-room', displayName = 'Olivia'): Promise<RoomResponse> {
  return helpers.createRoom(base, { name: `room ${Math.random().toString(36).slice(2, 7)}`, kind, displayName });
}

export interface Member {
  doc: Y.Doc;
  provider: TestClient['provider'];
  socket: CollabClient;
  token: string;
  memberId: string;
  close(): void;
}

/** A member as the web client is one: a stock y-websocket provider and a socket.io client. */
export async function connectMember(port: number, roomId: string, token: string, memberId: string, opts: { sync?: boolean } = {}): Promise<Member> {
  const base = `http://127.0.0.1:${port}`;
  let client: TestClient | null = null;
  if (opts.sync !== false) {
    client = helpers.connectClient(`ws://127.0.0.1:${port}${SYNC_PATH}`, roomId, token);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([client.synced, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('sync timeout')), 10_000)))]).finally(() => clearTimeout(timer));
  }
  const outcome = await helpers.openCollab(base, token);
  if (outcome.kind !== 'open') throw Object.assign(new Error(outcome.message), { data: { code: outcome.code } });
  const { socket } = outcome;
  const doc = client?.doc ?? new Y.Doc();
  return {
    doc,
    provider: client?.provider as TestClient['provider'],
    socket,
    token,
    memberId,
    close() {
      socket.disconnect();
      if (client) client.destroy();
      else doc.destroy();
    },
  };
}

/** Emits with an acknowledgement and resolves with it. */
export function call<R = Record<string, unknown>>(socket: CollabClient, event: string, payload: unknown, timeoutMs = 20_000): Promise<R> {
  return helpers.ack<R>(socket, event, payload, timeoutMs);
}

export async function waitFor(pred: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  await helpers.waitFor(pred, { timeoutMs, message: what });
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

export interface TwoMemberProposal {
  owner: Member;
  editor: Member;
  proposal: ProposalInfo;
  /** The proposal's `proposal:done` events at member 0 (owner) or 1 (editor), in arrival order. */
  dones(member: 0 | 1): ProposalDone[];
  deltas(member: 0 | 1): ProposalDelta[];
}

/**
 * A new room of `kind` with its owner ("Olivia") and an editor ("Ed") connected and recorded: the
 * owner types `opening`, the editor asks for a 2-alternative `continue` at its end, and this
 * resolves once both alternatives are done at both members. New members go into `members` (to close).
 */
export async function twoMemberProposal(srv: TestServer, kind: RoomKind, opening: string, members: Member[]): Promise<TwoMemberProposal> {
  const room = await createRoom(srv.http, kind, 'Olivia');
  const ed = await helpers.joinRoom(srv.http, room.room.joinCode, 'Ed');
  const owner = await connectMember(srv.port, room.room.id, room.token, room.member.id);
  const editor = await connectMember(srv.port, room.room.id, ed.token, ed.member.id);
  members.push(owner, editor);
  const events: Array<Array<{ name: string; payload: any }>> = [[], []];
  owner.socket.onAny((name: string, payload: unknown) => events[0]!.push({ name, payload }));
  editor.socket.onAny((name: string, payload: unknown) => events[1]!.push({ name, payload }));
  const t = typeParagraph(owner.doc, opening);
  await waitFor(() => storyText(editor.doc).includes(opening), 10_000, 'sync');
  const res = await call<Ack<{ proposal: ProposalInfo }>>(editor.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 2 });
  if (!res.ok) throw new Error(`proposal:request refused: ${res.error.code} ${res.error.message}`);
  const id = res.proposal.id;
  const of = <T>(member: 0 | 1, name: string): T[] => events[member]!.filter((x) => x.name === name && x.payload.proposalId === id).map((x) => x.payload as T);
  const run: TwoMemberProposal = { owner, editor, proposal: res.proposal, dones: (m) => of<ProposalDone>(m, 'proposal:done'), deltas: (m) => of<ProposalDelta>(m, 'proposal:delta') };
  await waitFor(() => run.dones(0).length === 2 && run.dones(1).length === 2, 60_000, 'both alternatives done at both members');
  return run;
}
