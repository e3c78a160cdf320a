import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorsOf, bibleOf, panelsOf, storyOf } from '../../shared/src/index';
import { connectClient, createRoom, joinRoom, rng, startServer, waitFor, type TestServer } from '../helpers/index';
import { connectHostile, craft, deleteSetUpdate, type HostilePeer } from '../helpers/hostile';

/**
 * In the spirit of Yjs's own applyRandomTests: one hostile connection sends structurally valid
 * random Yjs updates (random clients and clocks, parents, nesting, formats, deletes, maps, arrays,
 * stale forks, gaps, updates out of order, attribution writes) while two stock clients edit. The
 * stock clients must always converge with the server, and what is stored must reload to the same.
 */
const SEEDS = [1, 2, 3, 4, 5];
const UPDATES_PER_SEED = 1500;

type Random = () => number;
const pick = <T,>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (random: Random, n: number) => Math.floor(random() * n);

/** Every shared type of the document in `doc` that a random edit may touch. */
function types(doc: Y.Doc): Array<Y.XmlFragment | Y.XmlElement | Y.XmlText> {
  const out: Array<Y.XmlFragment | Y.XmlElement | Y.XmlText> = [storyOf(doc)];
  for (let i = 0; i < out.length && out.length < 200; i++) {
    const t = out[i]!;
    if (t instanceof Y.XmlText) continue;
    for (const child of t.toArray()) if (child instanceof Y.XmlElement || child instanceof Y.XmlText) out.push(child);
  }
  return out;
}

function randomEdit(random: Random, doc: Y.Doc, towers = true): void {
  const targets = types(doc);
  const target = pick(random, targets);
  const r = random();
  if (target instanceof Y.XmlText) {
    const len = target.length;
    if (r < 0.4) target.insert(int(random, len + 1), 'abcdefghij'.slice(0, 1 + int(random, 10)), random() < 0.5 ? { bold: true, aiAuthored: random() < 0.3 ? { proposalId: 'x' } : null } : {});
    else if (len > 0) {
      const at = int(random, len);
      const span = Math.min(1 + int(random, 5), len - at);
      if (r < 0.6) target.format(at, span, { italic: random() < 0.5 ? true : null });
      else target.delete(at, span);
    }
    return;
  }
  const n = target.length;
  if (r < 0.35) {
    const el = new Y.XmlElement(pick(random, ['paragraph', 'heading', 'listItem']));
    target.insert(int(random, n + 1), [el]);
    if (random() < 0.7) el.insert(0, [new Y.XmlText('text')]);
    // Occasionally a tower of nested elements (some beyond the depth limit).
    if (towers && random() < 0.05) {
      let parent: Y.XmlElement = el;
      for (let i = 0, depth = int(random, 120); i < depth; i++) {
        const child = new Y.XmlElement('div');
        parent.insert(0, [child]);
        parent = child;
      }
    }
  } else if (r < 0.5) {
    target.insert(int(random, n + 1), [new Y.XmlText('t')]);
  } else if (r < 0.7 && n > 0) {
    const at = int(random, n);
    target.delete(at, Math.min(1 + int(random, 3), n - at));
  } else if (r < 0.8) {
    bibleOf(doc).set(pick(random, ['characters', 'setting', 'tone', 'junk']), 'v'.repeat(int(random, 20)));
  } else if (r < 0.9) {
    panelsOf(doc).insert(0, [new Y.Map()]);
  } else if (target instanceof Y.XmlElement) {
    target.setAttribute('level', String(int(random, 6)));
  }
}

/** One random hostile update against the peer's mirror of the room. */
function hostileUpdate(random: Random, peer: HostilePeer, victims: number[], stale: Y.Doc[]): Uint8Array[] {
  const r = random();
  const mirror = peer.mirror;
  const clients = [...mirror.store.clients.keys()];
  if (r < 0.35) return [craft(mirror, (d) => { for (let i = 0, n = 1 + int(random, 4); i < n; i++) randomEdit(random, d); }).update];
  if (r < 0.45) {
    // Write as someone else: a bystander, a random existing client, or the attribution map.
    const as = random() < 0.5 ? pick(random, victims) : pick(random, clients.length > 0 ? clients : victims);
    return [craft(mirror, (d) => (random() < 0.3 ? authorsOf(d).set(String(as), { memberId: 'forged', displayName: 'X', kind: 'human' }) : randomEdit(random, d)), as).update];
  }
  if (r < 0.6) {
    // Random delete sets: real clients with clocks in and past their state, and unknown clients.
    const ranges = Array.from({ length: 1 + int(random, 5) }, () => {
      const client = random() < 0.7 && clients.length > 0 ? pick(random, clients) : 1 + int(random, 2 ** 30);
      const state = Y.getState(mirror.store, client);
      return { client, clock: int(random, state + 10), len: 1 + int(random, random() < 0.1 ? 2 ** 31 : 20) };
    });
    return [deleteSetUpdate(ranges)];
  }
  if (r < 0.75) {
    // A chain of two edits sent out of order, or with the first one never sent (a gap).
    const first = craft(mirror, (d) => randomEdit(random, d));
    const second = craft(first.doc, (d) => randomEdit(random, d), first.doc.clientID);
    return random() < 0.5 ? [second.update, first.update] : [second.update];
  }
  if (r < 0.85 && stale.length > 0) {
    // An edit on an old fork of the room (concurrent with everything since).
    return [craft(pick(random, stale), (d) => randomEdit(random, d)).update];
  }
  if (r < 0.95) {
    // A valid edit merged with a random delete set.
    const edit = craft(mirror, (d) => randomEdit(random, d)).update;
    const client = clients.length > 0 ? pick(random, clients) : 1;
    return [Y.mergeUpdates([edit, deleteSetUpdate([{ client, clock: int(random, Y.getState(mirror.store, client) + 5), len: 1 + int(random, 8) }])])];
  }
  // A duplicate of the whole state.
  return [Y.encodeStateAsUpdate(mirror)];
}

const snapshotOf = (doc: Y.Doc) =>
  JSON.stringify({ t: doc.getText('t').toString(), story: storyOf(doc).toString(), bible: Object.entries(bibleOf(doc).toJSON()).sort(), panels: panelsOf(doc).length });

describe('randomized hostile updates', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { ENSEMBLE_FLUSH_MS: '10', ENSEMBLE_PENDING_TTL_MS: '500', ENSEMBLE_COMPACT_EVERY: '200', ENSEMBLE_SYNC_CONNECTS_PER_SEC: '10000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  for (const seed of SEEDS) {
    it(`seed ${seed}: ${UPDATES_PER_SEED} random hostile updates; stock clients converge and a reload equals them`, async () => {
      const random = rng(seed);
      const owner = await createRoom(server.url);
      const ben = await joinRoom(server.url, owner.room.joinCode, 'Ben');
      const hostile = await joinRoom(server.url, owner.room.joinCode, 'Mallory');
      const a = connectClient(server.syncUrl, owner.room.id, owner.token);
      const b = connectClient(server.syncUrl, owner.room.id, ben.token);
      await Promise.all([a.synced, b.synced]);
      const bystanderCloses: number[] = [];
      for (const c of [a, b]) c.provider.on('connection-close', (e: { code: number } | null) => e && bystanderCloses.push(e.code));
      storyOf(a.doc).insert(0, [new Y.XmlElement('paragraph')]);
      const resetsBefore = (await server.server.metrics.roomResets.get()).values[0]?.value ?? 0;
      let peer = await connectHostile(server.syncUrl, owner.room.id, hostile.token);
      const stale: Y.Doc[] = [];
      const closes = new Map<number, number>();
      for (let sent = 0; sent < UPDATES_PER_SEED; ) {
        if (peer.socket.readyState !== 1) {
          const code = await peer.closed;
          closes.set(code, (closes.get(code) ?? 0) + 1);
          peer = await connectHostile(server.syncUrl, owner.room.id, hostile.token);
        }
        if (random() < 0.05) {
          const fork = new Y.Doc();
          Y.applyUpdate(fork, Y.encodeStateAsUpdate(peer.mirror));
          stale.push(fork);
        }
        for (const update of hostileUpdate(random, peer, [a.doc.clientID, b.doc.clientID], stale)) {
          peer.send(update);
          sent++;
        }
        // The bystanders keep editing in between.
        if (random() < 0.3) {
          const doc = random() < 0.5 ? a.doc : b.doc;
          const t = doc.getText('t');
          if (random() < 0.7 || t.length === 0) t.insert(int(random, t.length + 1), `${sent}.`);
          else t.delete(int(random, t.length), 1);
          if (random() < 0.2) randomEdit(random, doc, false); // normal use: no towers past the depth limit
        }
        if (sent % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      peer.close();
      a.doc.getText('t').insert(0, 'end.');

      const serverRoom = () => server.server.registry.peek(owner.room.id);
      await waitFor(() => {
        const room = serverRoom();
        return room !== undefined && a.provider.wsconnected && b.provider.wsconnected && snapshotOf(a.doc) === snapshotOf(b.doc) && snapshotOf(a.doc) === snapshotOf(room.doc) && a.doc.getText('t').toString().startsWith('end.');
      }, { timeoutMs: 30_000, message: 'stock clients and the server did not converge' });
      const expected = snapshotOf(a.doc);
      const benId = (JSON.parse(Buffer.from(ben.token.split('.')[1]!, 'base64url').toString()) as { memberId: string }).memberId;
      expect(authorsOf(serverRoom()!.doc).get(String(b.doc.clientID))?.memberId).toBe(benId);
      expect(serverRoom()!.doc.store.pendingStructs).toBeNull();
      // The bystanders were never refused (a reconnect after a transient close is fine, a 44xx is not).
      expect(bystanderCloses.filter((code) => code >= 4400 && code < 4500)).toEqual([]);
      // Some attacks must have been refused outright, not all absorbed.
      expect([...closes.keys()].length).toBeGreaterThan(0);

      a.destroy();
      b.destroy();
      await waitFor(() => serverRoom() === undefined, { message: 'room did not unload' });
      await server.server.registry.settled();
      const stored = await server.store.documents.loadDocument(owner.room.id);
      const reloaded = new Y.Doc();
      if (stored.snapshot) Y.applyUpdate(reloaded, stored.snapshot);
      for (const u of stored.updates) Y.applyUpdate(reloaded, u.data);
      expect(snapshotOf(reloaded)).toBe(expected);
      const resets = ((await server.server.metrics.roomResets.get()).values[0]?.value ?? 0) - resetsBefore;
      expect(resets, 'the guard let through an update that broke Yjs').toBe(0);
      const disagreed = (await server.server.metrics.rejectedMessages.get()).values.find((v) => v.labels.reason === 'unexpected_pending');
      expect(disagreed?.value ?? 0, 'Yjs parked structs the guard had let through').toBe(0);
    });
  }
});
