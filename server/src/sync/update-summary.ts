import * as Y from 'yjs';

/**
 * What the update guard needs to know of a Yjs (v1) update, as flat typed arrays: cheap to send
 * between threads and to walk. Decoding a large update is the expensive part of checking it (tens
 * of ms for a hostile megabyte), so that part can run on a worker thread (UpdateDecoder) while
 * the checks against the room's document stay on the thread that owns it.
 *
 * Struct i (in decode order: grouped by client, clocks ascending) is
 *   ids[3i..3i+2]     client, clock, length
 *   kinds[2i..2i+1]   ITEM | GC | SKIP, and its content: CONTENT_TYPE | CONTENT_SUBDOC | CONTENT_OTHER
 *   refs[6i..6i+5]    origin, right origin and parent as client/clock pairs (NaN where absent)
 *   parentRoot[i]     index into `roots` of a root-type parent (-1 otherwise)
 * and `ds` holds the delete set as (client, clock, len) triples.
 */
export interface UpdateSummary {
  structCount: number;
  ids: Float64Array;
  kinds: Uint8Array;
  refs: Float64Array;
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
  const s: UpdateSummary = {
    structCount: n,
    ids: new Float64Array(3 * n),
    kinds: new Uint8Array(2 * n),
    refs: new Float64Array(6 * n).fill(NaN),
    parentRoot: new Int32Array(n).fill(-1),
    roots: [],
    ds: new Float64Array(0),
  };
  const rootIndex = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const st = structs[i]!;
    s.ids[3 * i] = st.id.client;
    s.ids[3 * i + 1] = st.id.clock;
    s.ids[3 * i + 2] = st.length;
    if (st instanceof Y.Skip) s.kinds[2 * i] = SKIP;
    else if (st instanceof Y.GC) s.kinds[2 * i] = GC;
    else {
      const item = st as Y.Item;
      s.kinds[2 * i] = ITEM;
      s.kinds[2 * i + 1] = item.content instanceof Y.ContentDoc ? CONTENT_SUBDOC : item.content instanceof Y.ContentType ? CONTENT_TYPE : CONTENT_OTHER;
      if (item.origin) {
        s.refs[6 * i] = item.origin.client;
        s.refs[6 * i + 1] = item.origin.clock;
      }
      if (item.rightOrigin) {
        s.refs[6 * i + 2] = item.rightOrigin.client;
        s.refs[6 * i + 3] = item.rightOrigin.clock;
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
        s.refs[6 * i + 4] = parent.client;
        s.refs[6 * i + 5] = parent.clock;
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
  return [s.ids, s.kinds, s.refs, s.parentRoot, s.ds].map((a) => a.buffer as ArrayBuffer);
}
