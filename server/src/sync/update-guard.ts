import * as Y from 'yjs';
import { DOC_FIELDS } from '@ensemble/shared';
import { CONTENT_SUBDOC, CONTENT_TYPE, ITEM, SKIP, type UpdateSummary } from './update-summary';

/**
 * Checks a client's Yjs update against the room's document *before* it is applied, so that no
 * member can put the document into a state Yjs cannot handle (stack overflow on deeply nested
 * types), delete what does not exist yet (muting a member by deleting their future clocks), park
 * unbounded junk in Yjs's pending structures, or rewrite attribution.
 *
 * It re-derives what Yjs's own integration would do, without mutating anything:
 * - which structs can be integrated now (Yjs's `getMissing` rules, in dependency order) and which
 *   wait for a missing struct of another client: those make the update `pending`;
 * - every delete range must lie inside what exists once the update's own structs are integrated;
 * - the container every new item lands in (root type name and nesting depth);
 * - that new structs only extend client ids the sender may write as: new ones, or ones already
 *   attributed to the same member.
 */
export interface UpdateLimits {
  /** Structs (items, GCs, skips) in one update. */
  maxStructs: number;
  /** Nesting depth of shared types (a root type is depth 0; a paragraph in `story` is 1). */
  maxDepth: number;
  /** Client ids never seen before that one update may introduce. */
  maxNewClients: number;
}

export type ClientOwner = { kind: 'member'; memberId: string } | { kind: 'server' } | { kind: 'none' };

export interface GuardInput {
  doc: Y.Doc;
  /** The update, decoded (summarizeUpdate, possibly on a worker thread). */
  update: UpdateSummary;
  /** The member sending the update. */
  memberId: string;
  /** Who may write as a client id (from the server-written attribution). */
  ownerOf: (client: number) => ClientOwner;
  limits: UpdateLimits;
}

export type GuardVerdict =
  /** Safe to apply; `empty` when it adds nothing (e.g. a step 2 with nothing new). */
  | { kind: 'apply'; empty: boolean; newClients: number[] }
  /** Depends on structs the room has not seen: client → the state that client must reach. */
  | { kind: 'pending'; needs: Map<number, number> }
  | { kind: 'reject'; reason: string };

/** Clients an update may wait on (see checkDeletes). */
const MAX_WAITED_CLIENTS = 64;
/** Roots no member may write (maps of plain values): attribution is written by the server and the agent only. */
const SERVER_ONLY_ROOTS: ReadonlySet<string> = new Set([DOC_FIELDS.authors]);

interface Container {
  root: string;
  depth: number;
}
/** Where an item lands: a container, or nowhere (its parent is gone; Yjs turns it into a GC). */
type Landing = Container | 'gone';
/** A step of landing resolution: known, or decided by another struct of the update (its index). */
type Step = Landing | { index: number };

/** Each shared type's container, cached across checks: a type never moves. */
const typeContainers = new WeakMap<Y.AbstractType<unknown>, Container>();

class Rejection extends Error {}
const reject = (reason: string): never => {
  throw new Rejection(reason);
};

export function checkUpdate(input: GuardInput): GuardVerdict {
  try {
    return new UpdateCheck(input).run();
  } catch (err) {
    if (err instanceof Rejection) return { kind: 'reject', reason: err.message };
    throw err;
  }
}

class UpdateCheck {
  private readonly store: Y.Doc['store'];
  private readonly u: UpdateSummary;
  /** Client → indices of its structs in the update, clocks ascending. */
  private readonly byClient = new Map<number, number[]>();
  private readonly landings = new Map<number, Landing>();
  /** integrableState's simulated state per client (a method, not a closure: no closure per check). */
  private readonly avail = new Map<number, number>();

  constructor(private readonly input: GuardInput) {
    this.store = input.doc.store;
    this.u = input.update;
  }

  run(): GuardVerdict {
    const { u } = this;
    const { limits } = this.input;
    if (u.structCount > limits.maxStructs) reject(`update holds ${u.structCount} structs (limit ${limits.maxStructs})`);
    for (let i = 0; i < u.structCount; i++) {
      const client = u.ids[3 * i]!;
      const list = this.byClient.get(client);
      if (list) {
        if (u.ids[3 * i + 1]! < u.ids[3 * list[list.length - 1]! + 1]!) reject('structs out of order');
        list.push(i);
      } else this.byClient.set(client, [i]);
    }
    const newClients = this.checkWriters();
    const needs = new Map<number, number>();
    const avail = this.integrableState(needs);
    this.checkDeletes(avail, needs);
    if (needs.size > 0) return { kind: 'pending', needs };
    this.checkLandings();
    const empty = u.ds.length === 0 && [...this.byClient].every(([client, list]) => this.endOf(list) <= this.state(client));
    return { kind: 'apply', empty, newClients };
  }

  private availOf(client: number): number {
    return this.avail.get(client) ?? this.state(client);
  }

  private state(client: number): number {
    return Y.getState(this.store, client);
  }

  private endOf(list: number[]): number {
    const { u } = this;
    for (let k = list.length - 1; k >= 0; k--) {
      const i = list[k]!;
      if (u.kinds[2 * i] !== SKIP) return u.ids[3 * i + 1]! + u.ids[3 * i + 2]!;
    }
    return 0;
  }

  /** New structs only for client ids the sender may write as; returns the client ids it introduces. */
  private checkWriters(): number[] {
    const { memberId, ownerOf, limits } = this.input;
    const fresh: number[] = [];
    for (const [client, list] of this.byClient) {
      if (this.endOf(list) <= this.state(client)) continue; // nothing new for this client
      if (client === this.input.doc.clientID) reject('writes as the server');
      const owner = ownerOf(client);
      if (owner.kind === 'server') reject(`writes as client ${client} of the server or the agent`);
      if (owner.kind === 'member' && owner.memberId !== memberId) reject(`writes as client ${client} of another member`);
      if (owner.kind === 'none' && !this.store.clients.has(client)) fresh.push(client);
    }
    if (fresh.length > limits.maxNewClients) reject(`introduces ${fresh.length} client ids (limit ${limits.maxNewClients})`);
    return fresh;
  }

  /**
   * Simulates Yjs's integration order: a client's structs are taken in clock order while each
   * one continues the client's state and every struct of another client it references exists.
   * Returns the state after integration; records in `needs` what the blocked structs wait for.
   */
  private integrableState(needs: Map<number, number>): Map<number, number> {
    const { u } = this;
    const avail = this.avail;
    const cursor = new Map<number, number>();
    const waiting = new Map<number, number[]>(); // client → clients blocked on it
    const queue = [...this.byClient.keys()];
    while (queue.length > 0) {
      const client = queue.pop()!;
      const list = this.byClient.get(client)!;
      const from = cursor.get(client) ?? 0;
      let k = from;
      let blockedOn: number | null = null;
      for (; k < list.length; k++) {
        const i = list[k]!;
        if (u.kinds[2 * i] === SKIP) continue;
        if (u.ids[3 * i + 1]! > this.availOf(client)) break; // a gap in the client's own clocks
        const dep = u.kinds[2 * i] === ITEM ? this.missingDependency(i) : null;
        if (dep !== null) {
          blockedOn = dep[0];
          break;
        }
        const end = u.ids[3 * i + 1]! + u.ids[3 * i + 2]!;
        if (end > this.availOf(client)) avail.set(client, end);
      }
      cursor.set(client, k);
      if (blockedOn !== null) {
        const blocked = waiting.get(blockedOn) ?? [];
        blocked.push(client);
        waiting.set(blockedOn, blocked);
      }
      const woken = waiting.get(client);
      if (woken && k > from) {
        waiting.delete(client);
        queue.push(...woken);
      }
    }
    for (const [client, list] of this.byClient) {
      const k = cursor.get(client)!;
      if (k >= list.length) continue;
      const i = list[k]!;
      if (u.ids[3 * i + 1]! > this.availOf(client)) needs.set(client, Math.max(needs.get(client) ?? 0, u.ids[3 * i + 1]!));
      else {
        const [dep, clock] = this.missingDependency(i)!;
        needs.set(dep, Math.max(needs.get(dep) ?? 0, clock + 1));
      }
    }
    return avail;
  }

  /** Yjs's getMissing: [client, clock] of a referenced struct that does not exist yet, or null. */
  private missingDependency(i: number): [number, number] | null {
    const { u } = this;
    return (
      this.missingRef(i, u.refs[6 * i]!, u.refs[6 * i + 1]!) ??
      this.missingRef(i, u.refs[6 * i + 2]!, u.refs[6 * i + 3]!) ??
      this.missingRef(i, u.refs[6 * i + 4]!, u.refs[6 * i + 5]!)
    );
  }

  private missingRef(i: number, client: number, clock: number): [number, number] | null {
    if (Number.isNaN(client)) return null;
    if (client === this.u.ids[3 * i]) {
      // Yjs assumes a client's own references point backwards; a forward one breaks integration.
      if (clock >= this.u.ids[3 * i + 1]!) reject('struct references a later clock of its own client');
      return null;
    }
    return clock >= this.availOf(client) ? [client, clock] : null;
  }

  /** Delete ranges must cover only what exists; deleting attribution is the server's alone. */
  private checkDeletes(avail: Map<number, number>, needs: Map<number, number>): void {
    const ds = this.u.ds;
    if (ds.length === 0) return;
    const protectedItems = this.serverOnlyItems();
    for (let k = 0; k < ds.length; k += 3) {
      const client = ds[k]!;
      const clock = ds[k + 1]!;
      const len = ds[k + 2]!;
      const end = avail.get(client) ?? this.state(client);
      if (clock + len > end) {
        needs.set(client, Math.max(needs.get(client) ?? 0, clock + len));
        // A tab racing another tab waits on a few clients; waiting on many is never normal use.
        if (needs.size > MAX_WAITED_CLIENTS) reject(`deletes from more than ${MAX_WAITED_CLIENTS} clients the server has not seen`);
      }
      for (const id of protectedItems.get(client) ?? []) if (id >= clock && id < clock + len) reject('deletes attribution written by the server');
    }
  }

  /** Live items of the server-only roots (the latest entry per key), by client → clocks. */
  private serverOnlyItems(): Map<number, number[]> {
    const out = new Map<number, number[]>();
    for (const root of SERVER_ONLY_ROOTS) {
      const type = this.input.doc.share.get(root);
      if (!type) continue;
      for (const item of type._map.values()) {
        if (item.deleted) continue;
        const clocks = out.get(item.id.client) ?? [];
        for (let c = 0; c < item.length; c++) clocks.push(item.id.clock + c);
        out.set(item.id.client, clocks);
      }
    }
    return out;
  }

  /** Every new item must land in a root members may write, within the depth limit. */
  private checkLandings(): void {
    const { u } = this;
    for (const [client, list] of this.byClient) {
      const known = this.state(client);
      for (const i of list) {
        if (u.kinds[2 * i] !== ITEM || u.ids[3 * i + 1]! + u.ids[3 * i + 2]! <= known) continue;
        if (u.kinds[2 * i + 1] === CONTENT_SUBDOC) reject('subdocuments are not supported');
        const landing = this.landing(i);
        if (landing === 'gone') continue;
        if (SERVER_ONLY_ROOTS.has(landing.root)) reject(`writes to "${landing.root}", which only the server writes`);
        if (u.kinds[2 * i + 1] === CONTENT_TYPE && landing.depth + 1 > this.input.limits.maxDepth) {
          reject(`nests shared types deeper than ${this.input.limits.maxDepth}`);
        }
      }
    }
  }

  /** The update's struct holding (client, clock), by binary search, or -1. */
  private indexAt(client: number, clock: number): number {
    const { u } = this;
    const list = this.byClient.get(client);
    if (!list) return -1;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const i = list[mid]!;
      if (clock < u.ids[3 * i + 1]!) hi = mid - 1;
      else if (clock >= u.ids[3 * i + 1]! + u.ids[3 * i + 2]!) lo = mid + 1;
      else return u.kinds[2 * i] === SKIP ? -1 : i;
    }
    return -1;
  }

  /** The document's struct holding (client, clock); only for clocks below the client's state. */
  private docStructAt(client: number, clock: number): Y.Item | Y.GC {
    const structs = this.store.clients.get(client)!;
    return structs[Y.findIndexSS(structs, clock)] as Y.Item | Y.GC;
  }

  /**
   * Where a new item lands, as Yjs's getMissing decides it: its explicit parent, else the parent of
   * its left (origin) or right neighbour. Chains of items in the update are followed iteratively,
   * so a hostile chain cannot overflow the stack here either.
   */
  private landing(start: number): Landing {
    const chain: number[] = [];
    const visiting = new Set<number>();
    let i = start;
    let result: Landing;
    // True when the last item of the chain got its landing from another item (cached), not directly.
    let lastFromItem = false;
    for (;;) {
      const cached = this.landings.get(i);
      if (cached !== undefined) {
        result = cached;
        lastFromItem = true;
        break;
      }
      if (visiting.has(i)) reject('struct references form a cycle');
      visiting.add(i);
      chain.push(i);
      const step = this.resolveStep(i);
      if (typeof step === 'object' && 'index' in step) {
        i = step.index;
        continue;
      }
      result = step;
      break;
    }
    // Unwind: an item lands where the item it was resolved through lands, or one level inside it
    // when that item is its parent.
    for (let k = chain.length - 1; k >= 0; k--) {
      const it = chain[k]!;
      const viaItem = k < chain.length - 1 || lastFromItem;
      if (viaItem && !Number.isNaN(this.u.refs[6 * it + 4]!) && result !== 'gone') result = { root: result.root, depth: result.depth + 1 };
      this.landings.set(it, result);
    }
    return this.landings.get(start)!;
  }

  /** One step of landing resolution (for a parent reference, the parent item itself). */
  private resolveStep(i: number): Step {
    const { u } = this;
    if (u.parentRoot[i]! >= 0) return { root: u.roots[u.parentRoot[i]!]!, depth: 0 };
    const pc = u.refs[6 * i + 4]!;
    if (!Number.isNaN(pc)) {
      const pk = u.refs[6 * i + 5]!;
      // Yjs turns a child of anything but a live shared type (a GC, a deleted type's leftover) into a GC.
      if (pk < this.state(pc)) {
        const target = this.docStructAt(pc, pk);
        if (!(target instanceof Y.Item) || !(target.content instanceof Y.ContentType)) return 'gone';
        return this.typeContainer(target.content.type);
      }
      const j = this.indexAt(pc, pk);
      if (j < 0) return reject('parent does not exist');
      if (u.kinds[2 * j] !== ITEM || u.kinds[2 * j + 1] !== CONTENT_TYPE) return 'gone';
      return { index: j };
    }
    const refs: Array<[number, number]> = [
      [u.refs[6 * i]!, u.refs[6 * i + 1]!],
      [u.refs[6 * i + 2]!, u.refs[6 * i + 3]!],
    ];
    for (const [client, clock] of refs) {
      if (Number.isNaN(client)) continue;
      if (clock < this.state(client)) {
        const neighbour = this.docStructAt(client, clock);
        if (!(neighbour instanceof Y.Item)) return 'gone';
        return this.typeContainer(neighbour.parent as Y.AbstractType<unknown>);
      }
      const j = this.indexAt(client, clock);
      if (j < 0) return reject('neighbour does not exist');
      if (u.kinds[2 * j] !== ITEM) return 'gone';
      return { index: j };
    }
    return 'gone';
  }

  /** The container a type of the document lives in (a root type: its own name, depth 0). */
  private typeContainer(type: Y.AbstractType<unknown>): Container {
    const path: Y.AbstractType<unknown>[] = [];
    let t: Y.AbstractType<unknown> | null = type;
    let base: Container | undefined;
    while (t !== null) {
      base = typeContainers.get(t);
      if (base) break;
      path.push(t);
      const item: Y.Item | null = t._item;
      if (item === null) {
        base = { root: Y.findRootTypeKey(t), depth: -1 };
        break;
      }
      t = item.parent as Y.AbstractType<unknown> | null;
    }
    let container = base ?? { root: '', depth: -1 };
    for (let k = path.length - 1; k >= 0; k--) {
      container = { root: container.root, depth: container.depth + 1 };
      typeContainers.set(path[k]!, container);
    }
    return typeContainers.get(type)!;
  }
}
