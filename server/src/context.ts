import type { Server as HttpServer } from 'node:http';
import type { Router } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type * as Y from 'yjs';
import type { Awareness } from 'y-protocols/awareness';
import type { RoomSettings, TokenClaims } from '@ensemble/shared';
import type { Config } from './config';
import type { Storage } from './storage/store';

/**
 * What the core server hands to each extension (the AI collaborator is one). Every hook payload
 * lives here, so an extension never reaches into the server's internals.
 */
export interface ServerContext {
  config: Config;
  logger: Logger;
  /** The storage bundle: `store.documents`, `store.rooms`, `store.versions`, `store.records`. */
  store: Storage;
  tokens: TokenService;
  documents: DocumentRegistry;
  rooms: RoomEventSource;
  httpServer: HttpServer;
  /** Mounted at /api, after the core routes; JSON bodies are already parsed. */
  api: Router;
  /** Express middleware that verifies `Authorization: Bearer <token>` (or `?token=`) for `/api/rooms/:id/...`. */
  requireToken: import('express').RequestHandler;
  metrics: Registry;
}

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
export interface RoomDocument {
  readonly roomId: string;
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  /** Open websocket connections. */
  readonly connectionCount: number;
}

export interface DocumentEvents {
  /** A room's document was loaded (first connection or acquire). */
  loaded: (room: RoomDocument) => void;
  /** The last websocket client of a room left (the document may stay loaded while acquired). */
  empty: (room: RoomDocument) => void;
  /** The document was flushed and unloaded. */
  unloaded: (roomId: string) => void;
}

export interface DocumentRegistry {
  /** Loads (single-flight) and pins the room's document until `release`. */
  acquire(roomId: string): Promise<RoomDocument>;
  release(roomId: string): void;
  /** The loaded document, if any, without loading it. */
  peek(roomId: string): RoomDocument | undefined;
  /** Replaces the document's content with `state` (version restore), as an update every client receives. */
  restore(roomId: string, state: Uint8Array): Promise<void>;
  on<E extends keyof DocumentEvents>(event: E, listener: DocumentEvents[E]): void;
  off<E extends keyof DocumentEvents>(event: E, listener: DocumentEvents[E]): void;
}

export interface RoomEvents {
  /** An owner changed the room's settings (PATCH /api/rooms/:id/settings); `settings` is the whole new set. */
  settingsChanged: (roomId: string, settings: RoomSettings) => void;
  /**
   * The owner removed a member (DELETE /api/rooms/:id/members/:memberId); the row is already gone,
   * so new requests are refused. Listeners close that member's open sockets.
   */
  memberRemoved: (roomId: string, memberId: string) => void;
}

export interface RoomEventSource {
  on<E extends keyof RoomEvents>(event: E, listener: RoomEvents[E]): void;
  off<E extends keyof RoomEvents>(event: E, listener: RoomEvents[E]): void;
}
