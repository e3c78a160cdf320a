import type { Stores } from './store';

export const SLICE_NAMES = ['documents', 'rooms', 'versions', 'records'] as const;
export type SliceName = (typeof SLICE_NAMES)[number];

/**
 * `storage` with some slices replaced; kind, init, close and the other slices stay the
 * original's (its prototype), so e.g. `instanceof SqliteStorage` still holds.
 */
export function withSlices<S extends Stores>(storage: S, slices: Partial<Pick<Stores, SliceName>>): S {
  const wrapped = Object.create(storage) as S;
  for (const [name, slice] of Object.entries(slices)) Object.defineProperty(wrapped, name, { value: slice, enumerable: true });
  return wrapped;
}

/** What a backend's bundle opens and closes: the handle its slices share. */
export interface BackendConnection {
  open(): void | Promise<void>;
  close(): void | Promise<void>;
}

/** The classes of a backend's four slices, each constructed over the backend's connection. */
export interface SliceClasses<C> {
  documents: new (connection: C) => Stores['documents'];
  rooms: new (connection: C) => Stores['rooms'];
  versions: new (connection: C) => Stores['versions'];
  records: new (connection: C) => Stores['records'];
}

/** A backend's Stores: the connection its four slices share, and init/close delegated to it. */
export abstract class BackendStorage<C extends BackendConnection> implements Stores {
  abstract readonly kind: Stores['kind'];
  readonly documents: Stores['documents'];
  readonly rooms: Stores['rooms'];
  readonly versions: Stores['versions'];
  readonly records: Stores['records'];

  constructor(
    readonly connection: C,
    slices: SliceClasses<C>,
  ) {
    this.documents = new slices.documents(connection);
    this.rooms = new slices.rooms(connection);
    this.versions = new slices.versions(connection);
    this.records = new slices.records(connection);
  }

  async init(): Promise<void> {
    await this.connection.open();
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
