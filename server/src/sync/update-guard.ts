import * as Y from 'yjs';
import { DOC_FIELDS } from '@ensemble/shared';

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
  update: Uint8Array;
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

/** Roots no member may write: attribution is written by the server and the agent only. */
const SERVER_ONLY_ROOTS: ReadonlySet<string> = new Set([DOC_FIELDS.authors]);

type Struct = Y.Item | Y.GC | Y.Skip;
interface Container {
  root: string;
  depth: number;
}
/** Where an item lands: a container, or nowhere (its parent is gone; Yjs turns it into a GC). */
type Landing = Container | 'gone';

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
  private readonly byClient = new Map<number, Struct[]>();
  /** Each type's container, cached: a type never moves. */
  private readonly typeContainers = new WeakMap<Y.AbstractType<unknown>, Container>();
  private readonly landings = new Map<Y.Item, Landing>();

  constructor(private readonly input: GuardInput) {
    this.store = input.doc.store;
  }

  run(): GuardVerdict {
    const { update, limits } = this.input;
    let decoded: ReturnType<typeof Y.decodeUpdate>;
    try {
      decoded = Y.decodeUpdate(update);
    } catch {
      return reject('undecodable update');
    }
    if (decoded.structs.length > limits.maxStructs) reject(`update holds ${decoded.structs.length} structs (limit ${limits.maxStructs})`);
    for (const s of decoded.structs) {
      const list = this.byClient.get(s.id.client);
      if (list) {
        if (s.id.clock < list[list.length - 1]!.id.clock) reject('structs out of order');
        list.push(s);
      } else this.byClient.set(s.id.client, [s]);
    }
    const newClients = this.checkWriters();
    const needs = new Map<number, number>();
    const avail = this.integrableState(needs);
    this.checkDeletes(decoded.ds, avail, needs);
    if (needs.size > 0) return { kind: 'pending', needs };
    this.checkLandings();
    const empty = decoded.ds.clients.size === 0 && [...this.byClient].every(([client, list]) => endOf(list) <= this.state(client));
    return { kind: 'apply', empty, newClients };
  }

  private state(client: number): number {
    return Y.getState(this.store, client);
  }

  /** New structs only for client ids the sender may write as; returns the client ids it introduces. */
  private checkWriters(): number[] {
    const { memberId, ownerOf, limits } = this.input;
    const fresh: number[] = [];
    for (const [client, list] of this.byClient) {
      if (endOf(list) <= this.state(client)) continue; // nothing new for this client
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
    const avail = new Map<number, number>();
    const availOf = (client: number) => avail.get(client) ?? this.state(client);
    const cursor = new Map<number, number>();
    const waiting = new Map<number, number[]>(); // client → clients blocked on it
    const queue = [...this.byClient.keys()];
    while (queue.length > 0) {
      const client = queue.pop()!;
      const list = this.byClient.get(client)!;
      const from = cursor.get(client) ?? 0;
      let i = from;
      let blockedOn: number | null = null;
      for (; i < list.length; i++) {
        const s = list[i]!;
        if (s instanceof Y.Skip) continue;
        if (s.id.clock > availOf(client)) break; // a gap in the client's own clocks
        const dep = s instanceof Y.Item ? this.missingDependency(s, availOf) : null;
        if (dep !== null) {
          blockedOn = dep;
          break;
        }
        const end = s.id.clock + s.length;
        if (end > availOf(client)) avail.set(client, end);
      }
      cursor.set(client, i);
      if (blockedOn !== null) {
        const list = waiting.get(blockedOn) ?? [];
        list.push(client);
        waiting.set(blockedOn, list);
      }
      const woken = waiting.get(client);
      if (woken && i > from) {
        waiting.delete(client);
        queue.push(...woken);
      }
    }
    for (const [client, list] of this.byClient) {
      const i = cursor.get(client)!;
      if (i >= list.length) continue;
      const s = list[i]!;
      if (s.id.clock > availOf(client)) needs.set(client, Math.max(needs.get(client) ?? 0, s.id.clock));
      else if (s instanceof Y.Item) {
        const dep = this.missingDependency(s, availOf)!;
        const ref = [s.origin, s.rightOrigin, s.parent].find((r): r is Y.ID => r instanceof Y.ID && r.client === dep)!;
        needs.set(dep, Math.max(needs.get(dep) ?? 0, ref.clock + 1));
      }
    }
    return avail;
  }

  /** Yjs's getMissing: the client of a referenced struct that does not exist yet, or null. */
  private missingDependency(item: Y.Item, availOf: (client: number) => number): number | null {
    for (const ref of [item.origin, item.rightOrigin, item.parent instanceof Y.ID ? item.parent : null]) {
      if (ref === null) continue;
      if (ref.client === item.id.client) {
        // Yjs assumes a client's own references point backwards; a forward one breaks integration.
        if (ref.clock >= item.id.clock) reject('struct references a later clock of its own client');
        continue;
      }
      if (ref.clock >= availOf(ref.client)) return ref.client;
    }
    return null;
  }

  /** Delete ranges must cover only what exists; deleting attribution is the server's alone. */
  private checkDeletes(ds: ReturnType<typeof Y.decodeUpdate>['ds'], avail: Map<number, number>, needs: Map<number, number>): void {
    for (const [client, ranges] of ds.clients) {
      const end = avail.get(client) ?? this.state(client);
      const docState = this.state(client);
      for (const { clock, len } of ranges) {
        if (clock + len > end) needs.set(client, Math.max(needs.get(client) ?? 0, clock + len));
        if (clock < docState) this.checkDeletedDocStructs(client, clock, Math.min(clock + len, docState));
      }
    }
  }

  private checkDeletedDocStructs(client: number, from: number, to: number): void {
    const structs = this.store.clients.get(client);
    if (!structs) return;
    for (let i = Y.findIndexSS(structs, from); i < structs.length && structs[i]!.id.clock < to; i++) {
      const s = structs[i]!;
      if (s instanceof Y.Item && !s.deleted && SERVER_ONLY_ROOTS.has(this.typeContainer(s.parent as Y.AbstractType<unknown>).root)) {
        reject('deletes attribution written by the server');
      }
    }
  }

  /** Every new item must land in a root members may write, within the depth limit. */
  private checkLandings(): void {
    for (const [client, list] of this.byClient) {
      const known = this.state(client);
      for (const s of list) {
        if (!(s instanceof Y.Item) || s.id.clock + s.length <= known) continue;
        if (s.content instanceof Y.ContentDoc) reject('subdocuments are not supported');
        const landing = this.landing(s);
        if (landing === 'gone') continue;
        if (SERVER_ONLY_ROOTS.has(landing.root)) reject(`writes to "${landing.root}", which only the server writes`);
        if (s.content instanceof Y.ContentType && landing.depth + 1 > this.input.limits.maxDepth) {
          reject(`nests shared types deeper than ${this.input.limits.maxDepth}`);
        }
      }
    }
  }

  /** The struct an id refers to: in the document when it already exists there, else in the update. */
  private structAt(id: Y.ID): Struct | undefined {
    if (id.clock < this.state(id.client)) {
      const structs = this.store.clients.get(id.client)!;
      return structs[Y.findIndexSS(structs, id.clock)];
    }
    const list = this.byClient.get(id.client);
    if (!list) return undefined;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = list[mid]!;
      if (id.clock < s.id.clock) hi = mid - 1;
      else if (id.clock >= s.id.clock + s.length) lo = mid + 1;
      else return s;
    }
    return undefined;
  }

  /**
   * Where a new item lands, as Yjs's getMissing decides it: its explicit parent, else the parent of
   * its left (origin) or right neighbour. Chains of items in the update are followed iteratively,
   * so a hostile chain cannot overflow the stack here either.
   */
  private landing(start: Y.Item): Landing {
    const chain: Y.Item[] = [];
    const visiting = new Set<Y.Item>();
    let item = start;
    let result: Landing;
    // True when the last item of the chain got its landing from another item (cached), not directly.
    let lastFromItem = false;
    for (;;) {
      const cached = this.landings.get(item);
      if (cached !== undefined) {
        result = cached;
        lastFromItem = true;
        break;
      }
      if (visiting.has(item)) reject('struct references form a cycle');
      visiting.add(item);
      chain.push(item);
      const step = this.resolveStep(item);
      if (step instanceof Y.Item) {
        item = step;
        continue;
      }
      result = step;
      break;
    }
    // Unwind: an item lands where the item it was resolved through lands, or one level inside it
    // when that item is its parent.
    for (let i = chain.length - 1; i >= 0; i--) {
      const it = chain[i]!;
      const viaItem = i < chain.length - 1 || lastFromItem;
      if (viaItem && it.parent instanceof Y.ID && result !== 'gone') result = { root: result.root, depth: result.depth + 1 };
      this.landings.set(it, result);
    }
    return this.landings.get(start)!;
  }

  /**
   * One step of landing resolution: a Landing when it is known from the document, or the update
   * item whose landing decides this one's (for a parent reference: the parent item itself).
   */
  private resolveStep(item: Y.Item): Landing | Y.Item {
    const parent = item.parent;
    if (typeof parent === 'string') return { root: parent, depth: 0 };
    if (parent instanceof Y.ID) {
      const target = this.structAt(parent);
      if (target === undefined) return reject('parent does not exist');
      // Yjs turns a child of anything but a live shared type (a GC, a deleted type's leftover) into a GC.
      if (!(target instanceof Y.Item) || !(target.content instanceof Y.ContentType)) return 'gone';
      if (parent.clock < this.state(parent.client)) return this.typeContainer(target.content.type);
      return target; // the caller adds one level for the parent
    }
    if (parent !== null) return reject('unexpected parent');
    for (const ref of [item.origin, item.rightOrigin]) {
      if (ref === null) continue;
      const neighbour = this.structAt(ref);
      if (neighbour === undefined) return reject('neighbour does not exist');
      if (!(neighbour instanceof Y.Item)) return 'gone';
      if (ref.clock < this.state(ref.client)) return this.typeContainer(neighbour.parent as Y.AbstractType<unknown>);
      return neighbour;
    }
    return 'gone';
  }

  /** The container a type of the document lives in (a root type: its own name, depth 0). */
  private typeContainer(type: Y.AbstractType<unknown>): Container {
    const path: Y.AbstractType<unknown>[] = [];
    let t: Y.AbstractType<unknown> | null = type;
    let base: Container | undefined;
    while (t !== null) {
      base = this.typeContainers.get(t);
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
    for (let i = path.length - 1; i >= 0; i--) {
      container = { root: container.root, depth: container.depth + 1 };
      this.typeContainers.set(path[i]!, container);
    }
    return this.typeContainers.get(type)!;
  }
}

function endOf(list: Struct[]): number {
  for (let i = list.length - 1; i >= 0; i--) {
    const s = list[i]!;
    if (!(s instanceof Y.Skip)) return s.id.clock + s.length;
  }
  return 0;
}
