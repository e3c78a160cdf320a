import * as Y from 'yjs';

/**
 * What the update guard needs to know of a Yjs (v1) update, as flat typed arrays: cheap to send
 * between threads and to walk. Decoding a large update is the expensive part of checking it (tens
 * of ms for a hostile megabyte), so that part can run on a worker thread (UpdateDecoder) while
 * the checks against the room's document stay on the thread that owns it.
 *
 * Per struct i, in decode order (grouped by client, clocks ascending): `client[i]`, `clock[i]`,
 * `length[i]`, `kind[i]` (ITEM | GC | SKIP), `content[i]` (TYPE | SUBDOC | OTHER); references as
 * client/clock pairs, NaN where absent; `parentRoot[i]` indexes `roots` for a root-type parent
 * (-1 otherwise). `ds` holds the delete set as (client, clock, len) triples.
 */
export interface UpdateSummary {
  structCount: number;
  client: Float64Array;
  clock: Float64Array;
  length: Float64Array;
  kind: Uint8Array;
  content: Uint8Array;
  originClient: Float64Array;
  originClock: Float64Array;
  rightClient: Float64Array;
  rightClock: Float64Array;
  parentClient: Float64Array;
  parentClock: Float64Array;
  parentRoot: Int32Array;
  roots: string[];
  ds: Float64Array;
}

export const ITEM = 0;
export const GC = 1;
export const SKIP = 2;
export const CONTENT_OTHER = 0;
export const CONTENT_TYPE = 1;
export const CONTENT_SUBDOC = 2;

/** Throws when the bytes are not a Yjs update. */
export function summarizeUpdate(update: Uint8Array): UpdateSummary {
  const { structs, ds } = Y.decodeUpdate(update);
  const n = structs.length;
  const f64 = () => new Float64Array(n);
  const s: UpdateSummary = {
    structCount: n,
    client: f64(),
    clock: f64(),
    length: f64(),
    kind: new Uint8Array(n),
    content: new Uint8Array(n),
    originClient: f64().fill(NaN),
    originClock: f64().fill(NaN),
    rightClient: f64().fill(NaN),
    rightClock: f64().fill(NaN),
    parentClient: f64().fill(NaN),
    parentClock: f64().fill(NaN),
    parentRoot: new Int32Array(n).fill(-1),
    roots: [],
    ds: new Float64Array(0),
  };
  const rootIndex = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const st = structs[i]!;
    s.client[i] = st.id.client;
    s.clock[i] = st.id.clock;
    s.length[i] = st.length;
    if (st instanceof Y.Skip) s.kind[i] = SKIP;
    else if (st instanceof Y.GC) s.kind[i] = GC;
    else {
      const item = st as Y.Item;
      s.kind[i] = ITEM;
      s.content[i] = item.content instanceof Y.ContentDoc ? CONTENT_SUBDOC : item.content instanceof Y.ContentType ? CONTENT_TYPE : CONTENT_OTHER;
      if (item.origin) {
        s.originClient[i] = item.origin.client;
        s.originClock[i] = item.origin.clock;
      }
      if (item.rightOrigin) {
        s.rightClient[i] = item.rightOrigin.client;
        s.rightClock[i] = item.rightOrigin.clock;
      }
      const parent = item.parent as unknown;
      if (typeof parent === 'string') {
        let r = rootIndex.get(parent);
        if (r === undefined) {
          r = s.roots.length;
          s.roots.push(parent);
          rootIndex.set(parent, r);
        }
        s.parentRoot[i] = r;
      } else if (parent instanceof Y.ID) {
        s.parentClient[i] = parent.client;
        s.parentClock[i] = parent.clock;
      }
    }
  }
  let ranges = 0;
  for (const list of ds.clients.values()) ranges += list.length;
  s.ds = new Float64Array(ranges * 3);
  let k = 0;
  for (const [client, list] of ds.clients) {
    for (const { clock, len } of list) {
      s.ds[k++] = client;
      s.ds[k++] = clock;
      s.ds[k++] = len;
    }
  }
  return s;
}

/** The typed arrays of a summary, to transfer rather than copy to another thread. */
export function transferables(s: UpdateSummary): ArrayBuffer[] {
  return [s.client, s.clock, s.length, s.kind, s.content, s.originClient, s.originClock, s.rightClient, s.rightClock, s.parentClient, s.parentClock, s.parentRoot, s.ds].map(
    (a) => a.buffer as ArrayBuffer,
  );
}
