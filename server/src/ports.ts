import type { Server as HttpServer } from 'node:http';
import type { Router } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import type { ErrorCode, Role, RoomSettings, TokenClaims } from '@ensemble/shared';
import type { ServerOptions as SocketIoServerOptions } from 'socket.io';
import type { Config } from './config';
import type { Stores } from './storage/store';

/*
 * The interfaces between modules, each named once. A module depends on another through what is
 * declared here, never on its classes: the sync server, the rooms service and the agent meet only
 * in these types (and server.ts wires the classes that implement them).
 */

/**
 * Who made a change to a room's Y.Doc (the `origin` of every transaction the server makes or
 * applies), as one discriminated union: the sync layer broadcasts an update to every connection
 * except `connection`, skips persisting `load`, and counts updates by `source`.
 */
export type TransactionOrigin =
  /** Replaying the stored document into a fresh Y.Doc. */
  | { readonly source: 'load' }
  /** A named version restored over the document. */
  | { readonly source: 'restore' }
  /** The server recording which member owns a new Yjs client id (the `authors` map). */
  | { readonly source: 'authors' }
  /** The AI collaborator's edits and presence. */
  | { readonly source: 'agent' }
  /** Another process's change to the room, arriving over the room bus (already validated and stored there). */
  | { readonly source: 'remote' }
  /** A member's update or awareness over a sync connection. */
  | { readonly source: 'connection'; readonly connection: object };

/** The origins without a payload, one frozen object each (compared by identity in hot paths). */
export const ORIGINS = {
  load: Object.freeze({ source: 'load' }),
  restore: Object.freeze({ source: 'restore' }),
  authors: Object.freeze({ source: 'authors' }),
  agent: Object.freeze({ source: 'agent' }),
  remote: Object.freeze({ source: 'remote' }),
} as const satisfies Record<string, TransactionOrigin>;

/** The connection a transaction or awareness change came from, if it came from one. */
export function originConnection(origin: unknown): object | null {
  const o = origin as Partial<TransactionOrigin> | null | undefined;
  return o?.source === 'connection' ? (o as { connection: object }).connection : null;
}

/**
 * What the core server hands to each extension (the AI collaborator is one). Every hook payload
 * lives here, so an extension never reaches into the server's internals.
 */
export interface ServerContext {
  config: Config;
  logger: Logger;
  /** The storage bundle: `store.documents`, `store.rooms`, `store.versions`, `store.records`. */
  store: Stores;
  tokens: TokenService;
  documents: RoomDocuments;
  rooms: RoomEventSource;
  httpServer: HttpServer;
  /** Mounted at /api, after the core routes; JSON bodies are already parsed. */
  api: Router;
  /** Express middleware that verifies `Authorization: Bearer <token>` (or `?token=`) for `/api/rooms/:id/...`. */
  requireToken: import('express').RequestHandler;
  /** The prom-client registry extensions add their metrics to (served at /metrics). */
  metricsRegistry: Registry;
  /** The socket.io adapter that reaches sockets on the other processes (set with ENSEMBLE_REDIS_URL). */
  collabAdapter?: SocketIoServerOptions['adapter'];
  /** Which process runs each room's AI collaborator (set with ENSEMBLE_REDIS_URL; absent: this one always). */
  agentLeases?: AgentLeases;
  /** Carries a member's agent command to the process that runs the room's AI (set with ENSEMBLE_REDIS_URL). */
  agentRelay?: AgentCommandRelay;
  /**
   * Request budgets every process shares (set with ENSEMBLE_REDIS_URL): a member connected to
   * several processes still has one budget. Without it, each limiter keeps its own memory.
   */
  sharedBudgets?: RequestBudgets;
}

/** Where a key's request budget stands (the shape of AiAllowance['rate']). */
export interface BudgetStatus {
  capacity: number;
  remaining: number;
  /** When `remaining` next goes up by one (0: full). */
  nextInMs: number;
  fullInMs: number;
  refillEveryMs: number;
}

/**
 * A request budget per key: `capacity` at once, refilled at `perMinute`. Implemented in one
 * process's memory (agent/rate-limit.ts) and in Redis for every process (scale/redis-budgets.ts).
 */
export interface RequestBudget {
  /** Takes one request: resolves 0 when allowed, else the ms until the key may ask again. */
  consume(key: string): Promise<number>;
  /** Where the key stands, without taking anything. */
  standing(key: string): Promise<BudgetStatus>;
}

/** Makes the budget `name` (its keys are separate from every other budget's). */
export type RequestBudgets = (name: string, capacity: number, perMinute: number) => RequestBudget;

export interface Extension {
  readonly name: string;
  start(ctx: ServerContext): void | Promise<void>;
  /** Called on shutdown before the documents are flushed. */
  stop?(): void | Promise<void>;
}

export interface TokenService {
  sign(claims: TokenClaims): Promise<string>;
  /** Throws AuthError (code 'invalid_token' | 'expired_token') on a bad token. */
  verify(token: string): Promise<TokenClaims>;
  /** When a token `verify` accepted expires, in ms since the epoch (sockets are closed then). */
  expiresAt(token: string): number;
}

/** A loaded room: its Y.Doc and awareness, shared by every connection to it. */
export interface LoadedRoom {
  readonly roomId: string;
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  /** Open websocket connections. */
  readonly connectionCount: number;
}

export interface DocumentEvents {
  /** A room's document was loaded (first connection or acquire). */
  loaded: (room: LoadedRoom) => void;
  /** The last websocket client of a room left (the document may stay loaded while acquired). */
  empty: (room: LoadedRoom) => void;
  /** The document was flushed and unloaded. */
  unloaded: (roomId: string) => void;
}

/** The loaded rooms, as extensions and REST handlers see them (sync/document-registry.ts). */
export interface RoomDocuments {
  /** Loads (single-flight) and pins the room's document until `release`. */
  acquire(roomId: string): Promise<LoadedRoom>;
  release(roomId: string): void;
  /** The loaded document, if any, without loading it. */
  peek(roomId: string): LoadedRoom | undefined;
  /** Replaces the document's content with `state` (version restore), as an update every client receives. */
  restore(roomId: string, state: Uint8Array): Promise<void>;
  on<E extends keyof DocumentEvents>(event: E, listener: DocumentEvents[E]): void;
  off<E extends keyof DocumentEvents>(event: E, listener: DocumentEvents[E]): void;
}

/**
 * `relayed` (ENSEMBLE_REDIS_URL only): another process raised the event, and its listeners have
 * already told every process's /collab sockets through the socket.io adapter.
 */
export interface RoomEvents {
  /** An owner changed the room's settings (PATCH /api/rooms/:id/settings); `settings` is the whole new set. */
  settingsChanged: (roomId: string, settings: RoomSettings, relayed?: boolean) => void;
  /**
   * The owner removed a member (DELETE /api/rooms/:id/members/:memberId); the row is already gone,
   * so new requests are refused. Listeners close that member's open sockets.
   */
  memberRemoved: (roomId: string, memberId: string, relayed?: boolean) => void;
}

export interface RoomEventSource {
  on<E extends keyof RoomEvents>(event: E, listener: RoomEvents[E]): void;
  off<E extends keyof RoomEvents>(event: E, listener: RoomEvents[E]): void;
}

/**
 * The room's copies in other processes (scale/; absent when one process serves every room).
 * Every change a process accepts is published; every change another process published is
 * delivered, in the order the bus received them, never the process's own.
 */
export interface RoomBus {
  /**
   * Call BEFORE reading the room from storage: the channel remembers where the bus stands, and
   * `start` delivers everything published since, so no change between that read and the first
   * delivery is lost (changes already stored arrive again; Yjs applies them idempotently).
   */
  open(roomId: string): Promise<RoomChannel>;
}

export interface RoomChannel {
  /** A document update this process accepted (validated, and stored by this process). */
  publishUpdate(update: Uint8Array): void;
  /** An awareness update (y-protocols encoding) of this process's clients or agent. */
  publishAwareness(update: Uint8Array): void;
  start(deliver: RoomChannelListener): void;
  /** Stops delivering and publishing (the room unloaded), and gives up the compaction lease. */
  close(): void;
  /**
   * Resolves once everything published so far is in the bus. A process stores an update only
   * after that, so every stored update was on the bus before its seq was allocated; except while
   * the bus is unreachable, when it resolves at once (storing never waits for it) and the room
   * re-syncs on recovery (`RoomChannelListener.resync`).
   */
  published(): Promise<void>;
  /**
   * This process stored updates of the room the bus has not had (it was unreachable): the room
   * stays loaded until it re-synced, or the other processes would never receive them.
   */
  readonly unpublished: boolean;
  /** Takes or renews the room's compaction lease: false while another process holds it. */
  claimCompaction(): Promise<boolean>;
  /** Resolves true once this process has applied everything the bus held when called; false if that took too long. */
  caughtUp(): Promise<boolean>;
}

export interface RoomChannelListener {
  update(update: Uint8Array): void;
  awareness(update: Uint8Array): void;
  /** Entries this process had not read yet were trimmed from the bus: the room must reload from storage. */
  lost(): void;
  /**
   * The bus was unreachable and is back: publish the room's whole state (the others may have missed
   * what this process accepted meanwhile, or what the bus lost), and when `store`, append it to the
   * log too (updates were stored without the bus meanwhile; see scale/redis-room-bus.ts).
   */
  resync(store: boolean): void;
}

/**
 * One AI owner per room across processes (scale/agent-leases.ts): a lease with a fencing token,
 * which grows with every new holder, so a stale owner's late writes can be told from the current one's.
 */
export interface AgentLeases {
  /** This process's id, as `holder` names it. */
  readonly processId: string;
  /**
   * Competes for the room's lease until `release`: `gained` when this process takes it (with its
   * fencing token), `lost` when it no longer holds it. Resolves after the first attempt.
   */
  hold(roomId: string, events: { gained(token: number): void; lost(): void }): Promise<void>;
  /** Stops competing and gives the lease up if held. */
  release(roomId: string): void;
  /** The process holding the room's lease right now, or null. */
  holder(roomId: string): Promise<string | null>;
  /** Whether this process still holds the room's lease under `token` (a write's fencing check). */
  isCurrent(roomId: string, token: number): Promise<boolean>;
  /** False while the lease store is unreachable (Redis down): nobody can tell who owns a room's AI. */
  reachable(): boolean;
}

/** A member's /collab agent command (already validated and rate-checked where it arrived), forwarded to the room's AI owner. */
export interface ForwardedAgentCommand {
  roomId: string;
  event: string;
  actor: { memberId: string; displayName: string; role: Role };
  payload: unknown;
}

/** The owner's answer: the ack's fields, or its error; `notOwner` when it no longer runs the room's AI. */
export type AgentCommandOutcome =
  | { ok: true; result: Record<string, unknown> }
  | { ok: false; code: ErrorCode; message: string; notOwner?: boolean };

export interface AgentCommandRelay {
  /** Sends to process `to` and resolves with its answer (`notOwner` when no process listens there; rejects on timeout). */
  send(to: string, command: ForwardedAgentCommand): Promise<AgentCommandOutcome>;
  /** Answers the commands other processes send this one. */
  serve(handler: (command: ForwardedAgentCommand) => Promise<AgentCommandOutcome>): void;
}
