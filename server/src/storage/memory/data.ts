import type { FeedbackRecord, ImageRecord, JoinCodeRecord, MemberRecord, ProposalRecord, RoomRecord, VersionRecord } from '../store';
import { BackendHandle } from '../store-error';

/**
 * What a memory storage holds. Several MemoryStorage instances may share one MemoryData, the way
 * several SQLite stores share one file: closing one and opening another keeps the data.
 */
export class MemoryData {
  readonly rooms = new Map<string, RoomRecord>();
  readonly joinCodes = new Map<string, JoinCodeRecord>();
  /** Keyed by roomId, then member id. */
  readonly members = new Map<string, Map<string, MemberRecord>>();
  readonly documents = new Map<string, MemoryDocument>();
  /** Keyed by roomId; each room's versions in saving order. */
  readonly versions = new Map<string, VersionRecord[]>();
  /** Keyed by roomId, then proposal id. */
  readonly proposals = new Map<string, Map<string, ProposalRecord>>();
  /** In adding order. */
  readonly feedback: FeedbackRecord[] = [];
  /** Keyed by roomId, then image id. */
  readonly images = new Map<string, Map<string, ImageRecord>>();
}

export interface MemoryDocument {
  /** Highest seq ever allocated (survives compaction, so seqs never repeat). */
  lastSeq: number;
  snapshot: { throughSeq: number; data: Uint8Array } | null;
  updates: Array<{ seq: number; data: Uint8Array }>;
}

/** The open MemoryData, and where failures become StoreErrors (BackendHandle.run). */
export class MemoryConnection extends BackendHandle<MemoryData> {
  constructor(readonly data: MemoryData) {
    super('memory');
  }

  open(): void {
    this.set(this.data);
  }

  close(): void {
    this.set(null);
  }
}

/** A compact copy, so neither the caller nor the store can change the other's bytes later. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** A deep copy of a record without binary fields (so callers cannot alias what the store holds). */
export function copyRecord<T>(record: T): T {
  return structuredClone(record);
}

/** The inner map of a two-level map, created on first write. */
export function inner<K, V>(outer: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let map = outer.get(key);
  if (!map) outer.set(key, (map = new Map()));
  return map;
}
