import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { defaultRoomSettings } from '../../shared/src/rooms';
import type {
  FeedbackRecord,
  ImageRecord,
  JoinCodeRecord,
  MemberRecord,
  ProposalRecord,
  RoomRecord,
  Stores,
  VersionRecord,
} from '../../server/src/storage/store';
import { StoreError } from '../../server/src/storage/store-error';

/** How the suite gets storages. Every call opens a new instance over the SAME data (file, database or MemoryData). */
export interface StoreHarness {
  open(): Stores;
  /** Like open(), but writeSnapshot leaves the covered log entries behind, as a crash right after storing the snapshot would. */
  openWithoutLogTruncation(): Stores;
  /**
   * Breaks the backend under an open storage the way a failing disk or database would (the
   * storage itself still thinks it is open). The suite closes the storage afterwards, ignoring errors.
   */
  breakBackend(storage: Stores): Promise<void>;
  /** Removes the data after the suite (optional). */
  cleanup?(): Promise<void>;
}

const MB = 1024 * 1024;

let roomCounter = 0;
/** Fresh, valid room id per test, so tests share one store without seeing each other's data. */
function newRoomId(): string {
  return `room_${Date.now().toString(36)}_${(roomCounter++).toString(36)}_${randomBytes(3).toString('hex')}`;
}
function newJoinCode(): string {
  return randomBytes(6).toString('hex').toUpperCase().slice(0, 10);
}
function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}
/** Deterministic pseudo-random bytes (fast for many MB, unlike crypto for 17 MB in tight loops). */
function patternBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
/** Exact byte comparison with a short failure message (toEqual on 17 MB prints megabytes). */
function expectSameBytes(actual: Uint8Array | null | undefined, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual!.byteLength).toBe(expected.byteLength);
  expect(Buffer.compare(Buffer.from(actual!.buffer, actual!.byteOffset, actual!.byteLength), Buffer.from(expected))).toBe(0);
}
function roomRecord(overrides: Partial<RoomRecord> = {}): RoomRecord {
  return {
    id: newRoomId(),
    name: 'Draft of chapter one',
    kind: 'writers-room',
    joinCode: newJoinCode(),
    ownerId: 'owner-1',
    createdAt: '2025-01-02T03:04:05.006Z',
    settings: defaultRoomSettings('writers-room'),
    ...overrides,
  };
}
async function expectStoreError(promise: Promise<unknown>, code: StoreError['code'], operation: string): Promise<StoreError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected ${operation} to fail with ${code}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreError);
  expect((error as StoreError).code).toBe(code);
  expect((error as StoreError).operation).toBe(operation);
  expect((error as StoreError).message).toContain(operation);
  return error as StoreError;
}

/** The contract every Stores must meet; run by test/storage/{memory,sqlite,mongo}.test.ts. */
export function describeStoreConformance(name: string, harness: StoreHarness): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Stores;

    beforeAll(async () => {
      store = harness.open();
      await store.init();
      await store.init(); // idempotent
    });
    afterAll(async () => {
      await store?.close();
      await harness.cleanup?.();
    });

    describe('rooms and join codes', () => {
      it('creates, reads and updates a room; an unknown id gives null', async () => {
        const room = roomRecord({ kind: 'classroom', settings: defaultRoomSettings('classroom') });
        await store.rooms.createRoom(room);
        expect(await store.rooms.getRoom(room.id)).toEqual(room);
        expect(await store.rooms.getRoom(newRoomId())).toBeNull();

        const other = roomRecord({ name: 'Storyboard', kind: 'storyboard' });
        await store.rooms.createRoom(other);
        expect(await store.rooms.getRoom(other.id)).toEqual(other);

        const settings = { aiMode: 'limited' as const, aiUsesPerMember: 3, autoMode: true, autoPauseSec: 12, moderation: true };
        await store.rooms.updateRoomSettings(room.id, settings);
        expect(await store.rooms.getRoom(room.id)).toEqual({ ...room, settings });
        expect(await store.rooms.getRoom(other.id)).toEqual(other);
      });

      it('rejects a duplicate room id and settings for an unknown room', async () => {
        const room = roomRecord();
        await store.rooms.createRoom(room);
        const error = await expectStoreError(store.rooms.createRoom({ ...room, joinCode: newJoinCode(), name: 'Impostor' }), 'conflict', 'createRoom');
        expect(error.message).toContain(room.id);
        expect(await store.rooms.getRoom(room.id)).toEqual(room);
        await expectStoreError(store.rooms.updateRoomSettings(newRoomId(), defaultRoomSettings('classroom')), 'not_found', 'updateRoomSettings');
      });

      it("registers the room's join code and keeps join codes unique across rooms", async () => {
        const room = roomRecord();
        await store.rooms.createRoom(room);
        expect(await store.rooms.findJoinCode(room.joinCode)).toEqual({ code: room.joinCode, roomId: room.id, role: 'editor', createdAt: room.createdAt });

        const viewerCode: JoinCodeRecord = { code: newJoinCode(), roomId: room.id, role: 'viewer', createdAt: '2025-01-02T04:00:00.000Z' };
        await store.rooms.createJoinCode(viewerCode);
        expect(await store.rooms.findJoinCode(viewerCode.code)).toEqual(viewerCode);
        await store.rooms.createJoinCode(viewerCode); // identical registration is a no-op
        expect(await store.rooms.findJoinCode(viewerCode.code)).toEqual(viewerCode);

        const thief = roomRecord();
        await store.rooms.createRoom(thief);
        const error = await expectStoreError(store.rooms.createJoinCode({ ...viewerCode, roomId: thief.id }), 'conflict', 'createJoinCode');
        expect(error.message).toContain(viewerCode.code);
        await expectStoreError(store.rooms.createJoinCode({ ...viewerCode, role: 'editor' }), 'conflict', 'createJoinCode');
        expect(await store.rooms.findJoinCode(viewerCode.code)).toEqual(viewerCode);

        // A room whose default code is taken is not created, and the code keeps its owner.
        const clash = roomRecord({ joinCode: room.joinCode });
        await expectStoreError(store.rooms.createRoom(clash), 'conflict', 'createRoom');
        expect(await store.rooms.getRoom(clash.id)).toBeNull();
        expect(await store.rooms.findJoinCode(room.joinCode)).toEqual({ code: room.joinCode, roomId: room.id, role: 'editor', createdAt: room.createdAt });

        expect(await store.rooms.findJoinCode('NOSUCHCODE1')).toBeNull();
      });

      it('frees the join code of a room whose creation failed', async () => {
        const room = roomRecord();
        await store.rooms.createRoom(room);
        const duplicate = { ...room, joinCode: newJoinCode() };
        await expectStoreError(store.rooms.createRoom(duplicate), 'conflict', 'createRoom');
        expect(await store.rooms.findJoinCode(duplicate.joinCode)).toBeNull();
      });

      it('lists a room’s join codes and rotates one role’s codes, keeping the other role’s', async () => {
        const room = roomRecord();
        await store.rooms.createRoom(room);
        const viewer: JoinCodeRecord = { code: newJoinCode(), roomId: room.id, role: 'viewer', createdAt: '2025-01-02T04:00:00.000Z' };
        await store.rooms.createJoinCode(viewer);
        expect((await store.rooms.listJoinCodes(room.id)).map((c) => c.code)).toEqual([room.joinCode, viewer.code]);

        const editor: JoinCodeRecord = { code: newJoinCode(), roomId: room.id, role: 'editor', createdAt: '2025-01-03T04:00:00.000Z' };
        await store.rooms.replaceJoinCodes(editor);
        expect(await store.rooms.findJoinCode(room.joinCode)).toBeNull();
        expect(await store.rooms.findJoinCode(editor.code)).toEqual(editor);
        expect((await store.rooms.getRoom(room.id))?.joinCode).toBe(editor.code);
        expect(await store.rooms.findJoinCode(viewer.code)).toEqual(viewer);

        const viewer2: JoinCodeRecord = { code: newJoinCode(), roomId: room.id, role: 'viewer', createdAt: '2025-01-04T04:00:00.000Z' };
        await store.rooms.replaceJoinCodes(viewer2);
        expect(await store.rooms.findJoinCode(viewer.code)).toBeNull();
        expect((await store.rooms.listJoinCodes(room.id)).map((c) => c.code)).toEqual([editor.code, viewer2.code]);
        expect((await store.rooms.getRoom(room.id))?.joinCode).toBe(editor.code);

        // A code in use anywhere is refused and nothing changes; so is an unknown room.
        await expectStoreError(store.rooms.replaceJoinCodes({ ...editor, code: viewer2.code }), 'conflict', 'replaceJoinCodes');
        expect((await store.rooms.listJoinCodes(room.id)).map((c) => c.code)).toEqual([editor.code, viewer2.code]);
        await expectStoreError(store.rooms.replaceJoinCodes({ ...editor, code: newJoinCode(), roomId: newRoomId() }), 'not_found', 'replaceJoinCodes');
      });
    });

    describe('members', () => {
      it('adds, reads, lists (joining order) and replaces members per room', async () => {
        const roomId = newRoomId();
        const otherRoomId = newRoomId();
        const owner: MemberRecord = { roomId, id: 'm-owner', displayName: 'Ada', role: 'owner', createdAt: '2025-01-01T00:00:00.000Z' };
        const viewer: MemberRecord = { roomId, id: 'm-viewer', displayName: 'Bo', role: 'viewer', createdAt: '2025-01-01T00:00:02.000Z' };
        const editor: MemberRecord = { roomId, id: 'm-editor', displayName: 'Cy', role: 'editor', createdAt: '2025-01-01T00:00:01.000Z' };
        for (const member of [owner, viewer, editor]) await store.rooms.addMember(member);
        await store.rooms.addMember({ ...owner, roomId: otherRoomId, displayName: 'Elsewhere' });

        expect(await store.rooms.getMember(roomId, 'm-editor')).toEqual(editor);
        expect(await store.rooms.getMember(roomId, 'nobody')).toBeNull();
        expect(await store.rooms.getMember(newRoomId(), 'm-editor')).toBeNull();
        expect(await store.rooms.listMembers(roomId)).toEqual([owner, editor, viewer]);

        const promoted = { ...viewer, role: 'editor' as const, displayName: 'Bo B.' };
        await store.rooms.addMember(promoted);
        expect(await store.rooms.getMember(roomId, viewer.id)).toEqual(promoted);
        expect(await store.rooms.listMembers(roomId)).toEqual([owner, editor, promoted]);
        expect(await store.rooms.listMembers(otherRoomId)).toEqual([{ ...owner, roomId: otherRoomId, displayName: 'Elsewhere' }]);
        expect(await store.rooms.listMembers(newRoomId())).toEqual([]);
      });

      it('removes one member of one room', async () => {
        const roomId = newRoomId();
        const otherRoomId = newRoomId();
        const owner: MemberRecord = { roomId, id: 'm-owner', displayName: 'Ada', role: 'owner', createdAt: '2025-01-01T00:00:00.000Z' };
        const editor: MemberRecord = { roomId, id: 'm-editor', displayName: 'Cy', role: 'editor', createdAt: '2025-01-01T00:00:01.000Z' };
        for (const member of [owner, editor, { ...editor, roomId: otherRoomId }]) await store.rooms.addMember(member);

        expect(await store.rooms.removeMember(roomId, 'm-editor')).toBe(true);
        expect(await store.rooms.getMember(roomId, 'm-editor')).toBeNull();
        expect(await store.rooms.listMembers(roomId)).toEqual([owner]);
        expect(await store.rooms.getMember(otherRoomId, 'm-editor')).toEqual({ ...editor, roomId: otherRoomId });
        expect(await store.rooms.removeMember(roomId, 'm-editor')).toBe(false);
        expect(await store.rooms.removeMember(newRoomId(), 'm-owner')).toBe(false);
      });
    });

    describe('document log and snapshots', () => {
      it('loads an empty room as no snapshot and no updates', async () => {
        expect(await store.documents.loadDocument(newRoomId())).toEqual({ snapshot: null, snapshotSeq: 0, updates: [] });
      });

      it('numbers updates 1, 2, 3 … per room across batches and loads them in order', async () => {
        const roomId = newRoomId();
        const otherRoomId = newRoomId();
        expect(await store.documents.appendUpdates(roomId, [])).toBe(0);
        expect(await store.documents.appendUpdates(roomId, [bytes(1), bytes(2)])).toBe(2);
        expect(await store.documents.appendUpdates(otherRoomId, [bytes(100)])).toBe(1);
        expect(await store.documents.appendUpdates(roomId, [bytes(3)])).toBe(3);
        expect(await store.documents.appendUpdates(roomId, [])).toBe(3);
        expect(await store.documents.appendUpdates(roomId, [bytes(4), bytes(5, 5), bytes(6, 6, 6)])).toBe(6);

        expect(await store.documents.loadDocument(roomId)).toEqual({
          snapshot: null,
          snapshotSeq: 0,
          updates: [
            { seq: 1, data: bytes(1) },
            { seq: 2, data: bytes(2) },
            { seq: 3, data: bytes(3) },
            { seq: 4, data: bytes(4) },
            { seq: 5, data: bytes(5, 5) },
            { seq: 6, data: bytes(6, 6, 6) },
          ],
        });
        expect(await store.documents.loadDocument(otherRoomId)).toEqual({ snapshot: null, snapshotSeq: 0, updates: [{ seq: 1, data: bytes(100) }] });
      });

      it('loads the snapshot plus the tail after it, and keeps numbering after compaction', async () => {
        const roomId = newRoomId();
        await store.documents.appendUpdates(roomId, [bytes(1), bytes(2), bytes(3)]);
        await store.documents.appendUpdates(roomId, [bytes(4), bytes(5)]);
        await store.documents.writeSnapshot(roomId, bytes(0xaa, 3), 3);
        expect(await store.documents.loadDocument(roomId)).toEqual({
          snapshot: bytes(0xaa, 3),
          snapshotSeq: 3,
          updates: [
            { seq: 4, data: bytes(4) },
            { seq: 5, data: bytes(5) },
          ],
        });

        await store.documents.writeSnapshot(roomId, bytes(0xbb, 5), 5);
        expect(await store.documents.loadDocument(roomId)).toEqual({ snapshot: bytes(0xbb, 5), snapshotSeq: 5, updates: [] });
        // Seqs never restart, even with the log emptied.
        expect(await store.documents.appendUpdates(roomId, [bytes(6)])).toBe(6);
        expect(await store.documents.loadDocument(roomId)).toEqual({ snapshot: bytes(0xbb, 5), snapshotSeq: 5, updates: [{ seq: 6, data: bytes(6) }] });

        // A stale snapshot (older than the stored one) must not replace it.
        await store.documents.writeSnapshot(roomId, bytes(0xcc), 2);
        expect(await store.documents.loadDocument(roomId)).toEqual({ snapshot: bytes(0xbb, 5), snapshotSeq: 5, updates: [{ seq: 6, data: bytes(6) }] });
      });

      it('handles a snapshot that ends inside a batch', async () => {
        const roomId = newRoomId();
        await store.documents.appendUpdates(roomId, [bytes(1), bytes(2)]);
        await store.documents.appendUpdates(roomId, [bytes(3), bytes(4), bytes(5), bytes(6)]);
        await store.documents.writeSnapshot(roomId, bytes(0x44), 4);
        expect(await store.documents.loadDocument(roomId)).toEqual({
          snapshot: bytes(0x44),
          snapshotSeq: 4,
          updates: [
            { seq: 5, data: bytes(5) },
            { seq: 6, data: bytes(6) },
          ],
        });
      });

      it('ignores log entries at or below the snapshot seq when they were not yet deleted (crash after snapshot)', async () => {
        const crashing = harness.openWithoutLogTruncation();
        await crashing.init();
        try {
          const roomId = newRoomId();
          await crashing.documents.appendUpdates(roomId, [bytes(1), bytes(2)]);
          await crashing.documents.appendUpdates(roomId, [bytes(3)]);
          await crashing.documents.appendUpdates(roomId, [bytes(4)]);
          await crashing.documents.writeSnapshot(roomId, bytes(0x33), 3);
          const expected = { snapshot: bytes(0x33), snapshotSeq: 3, updates: [{ seq: 4, data: bytes(4) }] };
          expect(await crashing.documents.loadDocument(roomId)).toEqual(expected);
          expect(await store.documents.loadDocument(roomId)).toEqual(expected);
          // A later, complete compaction cleans up what the "crash" left behind.
          expect(await store.documents.appendUpdates(roomId, [bytes(5)])).toBe(5);
          await store.documents.writeSnapshot(roomId, bytes(0x55), 5);
          expect(await store.documents.loadDocument(roomId)).toEqual({ snapshot: bytes(0x55), snapshotSeq: 5, updates: [] });
        } finally {
          await crashing.close();
        }
      });

      it('round-trips binary exactly: every byte value, empty updates, views with an offset, 2 MB updates', async () => {
        const roomId = newRoomId();
        const allByteValues = Uint8Array.from({ length: 256 }, (_, i) => i);
        const backing = patternBytes(1000, 7);
        const view = backing.subarray(17, 517); // byteOffset 17: stores must not read the whole backing buffer
        const twoMegabytes = patternBytes(2 * MB, 11);
        expect(await store.documents.appendUpdates(roomId, [allByteValues, new Uint8Array(0), view])).toBe(3);
        expect(await store.documents.appendUpdates(roomId, [twoMegabytes])).toBe(4);
        const loaded = await store.documents.loadDocument(roomId);
        expect(loaded.updates.map((u) => u.seq)).toEqual([1, 2, 3, 4]);
        expectSameBytes(loaded.updates[0]!.data, allByteValues);
        expectSameBytes(loaded.updates[1]!.data, new Uint8Array(0));
        expectSameBytes(loaded.updates[2]!.data, backing.slice(17, 517));
        expectSameBytes(loaded.updates[3]!.data, twoMegabytes);

        await store.documents.writeSnapshot(roomId, twoMegabytes, 4);
        const compacted = await store.documents.loadDocument(roomId);
        expect(compacted.snapshotSeq).toBe(4);
        expect(compacted.updates).toEqual([]);
        expectSameBytes(compacted.snapshot, twoMegabytes);
      });

      it('stores snapshots larger than 16 MB (MongoDB document limit) byte-exactly, and replaces them', async () => {
        const roomId = newRoomId();
        const huge = patternBytes(17 * MB + 123, 5);
        await store.documents.appendUpdates(roomId, [bytes(1), bytes(2)]);
        await store.documents.writeSnapshot(roomId, huge, 2);
        const loaded = await store.documents.loadDocument(roomId);
        expect(loaded.snapshotSeq).toBe(2);
        expect(loaded.updates).toEqual([]);
        expectSameBytes(loaded.snapshot, huge);

        await store.documents.appendUpdates(roomId, [bytes(3)]);
        await store.documents.writeSnapshot(roomId, bytes(9, 9, 9), 3);
        expect(await store.documents.loadDocument(roomId)).toEqual({ snapshot: bytes(9, 9, 9), snapshotSeq: 3, updates: [] });
      });

      it('rebuilds a Yjs document from snapshot + log', async () => {
        const roomId = newRoomId();
        const source = new Y.Doc();
        const pending: Uint8Array[] = [];
        source.on('update', (update: Uint8Array) => pending.push(update));
        const text = source.getText('body');
        const flush = async () => {
          const seq = await store.documents.appendUpdates(roomId, pending.splice(0));
          return seq;
        };

        text.insert(0, 'Once upon a time');
        text.insert(16, ', in a harbour town');
        await flush();
        source.getMap('meta').set('title', 'The Lighthouse');
        text.delete(0, 4);
        text.insert(0, 'ONCE');
        const seqAtSnapshot = await flush();
        // Compact the way the sync layer does: encode a doc rebuilt from what is stored.
        const replica = new Y.Doc();
        for (const { data } of (await store.documents.loadDocument(roomId)).updates) Y.applyUpdate(replica, data);
        await store.documents.writeSnapshot(roomId, Y.encodeStateAsUpdate(replica), seqAtSnapshot);
        text.insert(text.length, '. The end.');
        await flush();

        const loaded = await store.documents.loadDocument(roomId);
        expect(loaded.snapshotSeq).toBe(seqAtSnapshot);
        expect(loaded.updates.length).toBe(1);
        const rebuilt = new Y.Doc();
        if (loaded.snapshot) Y.applyUpdate(rebuilt, loaded.snapshot);
        for (const { data } of loaded.updates) Y.applyUpdate(rebuilt, data);
        expect(rebuilt.getText('body').toString()).toBe('ONCE upon a time, in a harbour town. The end.');
        expect(rebuilt.getText('body').toString()).toBe(text.toString());
        expect(rebuilt.getMap('meta').get('title')).toBe('The Lighthouse');
        expectSameBytes(Y.encodeStateVector(rebuilt), Y.encodeStateVector(source));
      });

      it('gives parallel appends to one room unique, contiguous seqs and loses none', async () => {
        const roomId = newRoomId();
        const batches = Array.from({ length: 40 }, (_, batch) => Array.from({ length: (batch % 3) + 1 }, (_, item) => bytes(batch, item)));
        const total = batches.reduce((sum, batch) => sum + batch.length, 0);
        const lastSeqs = await Promise.all(batches.map((batch) => store.documents.appendUpdates(roomId, batch)));

        const assigned = new Map<number, Uint8Array>();
        lastSeqs.forEach((last, batch) => {
          const updates = batches[batch]!;
          updates.forEach((update, item) => {
            const seq = last - updates.length + 1 + item;
            expect(assigned.has(seq)).toBe(false);
            assigned.set(seq, update);
          });
        });
        expect([...assigned.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));

        const loaded = await store.documents.loadDocument(roomId);
        expect(loaded.updates.map((u) => u.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        for (const { seq, data } of loaded.updates) expect(data).toEqual(assigned.get(seq));
      });

      it('rejects a negative snapshot seq', async () => {
        await expectStoreError(store.documents.writeSnapshot(newRoomId(), bytes(1), -1), 'invalid', 'writeSnapshot');
      });
    });

    describe('versions', () => {
      it('lists versions newest first without snapshots; gets one with its snapshot', async () => {
        const roomId = newRoomId();
        const make = (id: string, createdAt: string, snapshot: Uint8Array): VersionRecord => ({
          roomId,
          id,
          name: `Version ${id}`,
          kind: 'manual',
          createdAt,
          createdBy: 'm-owner',
          snapshot,
        });
        const first = make('v1', '2025-03-01T10:00:00.000Z', bytes(1, 1));
        const third = make('v3', '2025-03-01T12:00:00.000Z', patternBytes(2 * MB, 3));
        const second = make('v2', '2025-03-01T11:00:00.000Z', bytes(2, 2));
        for (const version of [first, third, second]) await store.versions.saveVersion(version);
        await store.versions.saveVersion({ ...first, roomId: newRoomId() });

        const listed = await store.versions.listVersions(roomId);
        expect(listed).toEqual([third, second, first].map(({ snapshot: _snapshot, ...meta }) => meta));
        for (const entry of listed) expect(Object.keys(entry).sort()).toEqual(['createdAt', 'createdBy', 'id', 'kind', 'name', 'roomId']);

        const got = await store.versions.getVersion(roomId, 'v3');
        expect(got && { ...got, snapshot: null }).toEqual({ ...third, snapshot: null });
        expectSameBytes(got!.snapshot, third.snapshot);
        expect(await store.versions.getVersion(roomId, 'v2')).toEqual(second);
        expect(await store.versions.getVersion(roomId, 'nope')).toBeNull();
        expect(await store.versions.listVersions(newRoomId())).toEqual([]);
        await expectStoreError(store.versions.saveVersion({ ...second, name: 'again' }), 'conflict', 'saveVersion');
        expect(await store.versions.getVersion(roomId, 'v2')).toEqual(second);
      });

      it('keeps the kind; renames and deletes one version of one room, false for an unknown one', async () => {
        const roomId = newRoomId();
        const otherRoom = newRoomId();
        const base = { roomId, createdBy: 'm-owner', createdAt: '2025-03-02T10:00:00.000Z' };
        const manual: VersionRecord = { ...base, id: 'v1', name: 'Chapter one', kind: 'manual', snapshot: bytes(1) };
        const auto: VersionRecord = { ...base, id: 'v2', name: 'Automatic snapshot', kind: 'auto', createdAt: '2025-03-02T10:10:00.000Z', snapshot: patternBytes(MB + 3, 5) };
        await store.versions.saveVersion(manual);
        await store.versions.saveVersion(auto);
        await store.versions.saveVersion({ ...manual, roomId: otherRoom });
        expect((await store.versions.listVersions(roomId)).map((v) => [v.id, v.kind])).toEqual([['v2', 'auto'], ['v1', 'manual']]);
        expect((await store.versions.getVersion(roomId, 'v2'))?.kind).toBe('auto');

        expect(await store.versions.renameVersion(roomId, 'v1', 'Chapter one, final')).toBe(true);
        expect(await store.versions.getVersion(roomId, 'v1')).toEqual({ ...manual, name: 'Chapter one, final' });
        expect((await store.versions.listVersions(roomId)).map((v) => v.name)).toEqual(['Automatic snapshot', 'Chapter one, final']);
        expect((await store.versions.getVersion(otherRoom, 'v1'))?.name).toBe('Chapter one');
        expect(await store.versions.renameVersion(roomId, 'nope', 'x')).toBe(false);
        expect(await store.versions.renameVersion(newRoomId(), 'v1', 'x')).toBe(false);

        expect(await store.versions.deleteVersion(roomId, 'v2')).toBe(true);
        expect(await store.versions.getVersion(roomId, 'v2')).toBeNull();
        expect((await store.versions.listVersions(roomId)).map((v) => v.id)).toEqual(['v1']);
        expect(await store.versions.deleteVersion(roomId, 'v2')).toBe(false);
        expect(await store.versions.deleteVersion(newRoomId(), 'v1')).toBe(false);
        expect(await store.versions.getVersion(otherRoom, 'v1')).toEqual({ ...manual, roomId: otherRoom });
        // The id is free again: saving under it works and reads back the new snapshot.
        await store.versions.saveVersion({ ...auto, snapshot: bytes(9, 9) });
        expect((await store.versions.getVersion(roomId, 'v2'))?.snapshot).toEqual(bytes(9, 9));
      });
    });

    describe('proposals and feedback', () => {
      it('upserts proposals by (room, id) and lists newest first up to a limit', async () => {
        const roomId = newRoomId();
        const base: ProposalRecord = {
          roomId,
          id: 'p1',
          kind: 'text',
          requestedBy: 'm-1',
          mode: 'continue',
          model: 'tiny-lm',
          createdAt: '2025-04-01T09:00:00.000Z',
          status: 'pending',
          alternatives: ['one', 'two'],
        };
        const p1 = base;
        const p2: ProposalRecord = { ...base, id: 'p2', createdAt: '2025-04-01T09:05:00.000Z', instruction: 'make it darker', panelId: 'panel-2' };
        const p3: ProposalRecord = { ...base, id: 'p3', kind: 'image', createdAt: '2025-04-01T09:10:00.000Z', alternatives: ['img-1'] };
        for (const proposal of [p2, p1, p3]) await store.records.saveProposal(proposal);
        await store.records.saveProposal({ ...p3, roomId: newRoomId() });

        expect(await store.records.listProposals(roomId, 10)).toEqual([p3, p2, p1]);
        expect(Object.keys((await store.records.listProposals(roomId, 10))[2]!)).not.toContain('instruction');
        expect(await store.records.listProposals(roomId, 2)).toEqual([p3, p2]);
        expect(await store.records.listProposals(roomId, 0)).toEqual([]);

        const accepted: ProposalRecord = { ...p2, status: 'accepted', acceptedAlternative: 1, acceptedBy: 'm-2', alternatives: ['one', 'two', 'three'] };
        await store.records.saveProposal(accepted);
        expect(await store.records.listProposals(roomId, 10)).toEqual([p3, accepted, p1]);
      });

      it('lists feedback oldest first, optionally for one member', async () => {
        const roomId = newRoomId();
        const make = (memberId: string, at: string, action: FeedbackRecord['action'], text: string): FeedbackRecord => ({
          roomId,
          memberId,
          proposalId: 'p1',
          alternative: 0,
          action,
          text,
          at,
        });
        const a = make('m-1', '2025-04-01T09:00:03.000Z', 'vote-up', 'third');
        const b = make('m-2', '2025-04-01T09:00:01.000Z', 'shown', 'first');
        const c = make('m-1', '2025-04-01T09:00:02.000Z', 'accept', 'second');
        const d = make('m-1', '2025-04-01T09:00:03.000Z', 'dismiss', 'fourth (same instant as third, added later)');
        for (const feedback of [a, b, c, d]) await store.records.addFeedback(feedback);
        await store.records.addFeedback({ ...a, roomId: newRoomId() });

        expect(await store.records.listFeedback(roomId)).toEqual([b, c, a, d]);
        expect(await store.records.listFeedback(roomId, 'm-1')).toEqual([c, a, d]);
        expect(await store.records.listFeedback(roomId, 'm-2')).toEqual([b]);
        expect(await store.records.listFeedback(roomId, 'm-3')).toEqual([]);
      });
    });

    describe('images', () => {
      it('puts and gets images byte-exactly, replacing by (room, id)', async () => {
        const roomId = newRoomId();
        const png: ImageRecord = { roomId, id: 'img-1', mime: 'image/png', data: patternBytes(2 * MB + 5, 9), createdAt: '2025-05-01T00:00:00.000Z', proposalId: 'p9' };
        const plain: ImageRecord = { roomId, id: 'img-2', mime: 'image/jpeg', data: bytes(0xff, 0xd8, 0xff), createdAt: '2025-05-01T00:00:01.000Z' };
        await store.records.putImage(png);
        await store.records.putImage(plain);

        const got = await store.records.getImage(roomId, 'img-1');
        expect(got && { ...got, data: null }).toEqual({ ...png, data: null });
        expectSameBytes(got!.data, png.data);
        const gotPlain = await store.records.getImage(roomId, 'img-2');
        expect(gotPlain).toEqual(plain);
        expect(Object.keys(gotPlain!)).not.toContain('proposalId');
        expect(await store.records.getImage(roomId, 'img-3')).toBeNull();
        expect(await store.records.getImage(newRoomId(), 'img-1')).toBeNull();

        const replaced: ImageRecord = { ...plain, mime: 'image/webp', data: bytes(1, 2, 3, 4) };
        await store.records.putImage(replaced);
        expect(await store.records.getImage(roomId, 'img-2')).toEqual(replaced);
      });
    });

    describe('lifecycle', () => {
      it('keeps everything across close and reopen, and continues the seqs', async () => {
        const writer = harness.open();
        await writer.init();
        const room = roomRecord();
        const member: MemberRecord = { roomId: room.id, id: 'm-1', displayName: 'Ada', role: 'owner', createdAt: room.createdAt };
        const version: VersionRecord = { roomId: room.id, id: 'v1', name: 'First', kind: 'auto', createdAt: room.createdAt, createdBy: 'm-1', snapshot: bytes(7, 7) };
        const image: ImageRecord = { roomId: room.id, id: 'i1', mime: 'image/png', data: bytes(8, 8), createdAt: room.createdAt };
        await writer.rooms.createRoom(room);
        await writer.rooms.addMember(member);
        await writer.documents.appendUpdates(room.id, [bytes(1), bytes(2)]);
        await writer.documents.writeSnapshot(room.id, bytes(0x12), 2);
        await writer.documents.appendUpdates(room.id, [bytes(3)]);
        await writer.versions.saveVersion(version);
        await writer.records.putImage(image);
        await writer.close();

        const reader = harness.open();
        await reader.init();
        try {
          expect(await reader.rooms.getRoom(room.id)).toEqual(room);
          expect(await reader.rooms.findJoinCode(room.joinCode)).toEqual({ code: room.joinCode, roomId: room.id, role: 'editor', createdAt: room.createdAt });
          expect(await reader.rooms.listMembers(room.id)).toEqual([member]);
          expect(await reader.documents.loadDocument(room.id)).toEqual({ snapshot: bytes(0x12), snapshotSeq: 2, updates: [{ seq: 3, data: bytes(3) }] });
          expect(await reader.versions.getVersion(room.id, 'v1')).toEqual(version);
          expect(await reader.records.getImage(room.id, 'i1')).toEqual(image);
          expect(await reader.documents.appendUpdates(room.id, [bytes(4)])).toBe(4);
        } finally {
          await reader.close();
        }
      });

      it('fails with a StoreError naming the operation and room once closed', async () => {
        const closed = harness.open();
        await closed.init();
        await closed.close();
        const error = await expectStoreError(closed.documents.loadDocument('room_closed_1'), 'closed', 'loadDocument');
        expect(error.message).toContain('room_closed_1');
        await expectStoreError(closed.documents.appendUpdates('room_closed_1', [bytes(1)]), 'closed', 'appendUpdates');
      });

      it('turns every backend failure into a StoreError (code backend) naming the operation and room', async () => {
        const broken = harness.open();
        await broken.init();
        const room = roomRecord();
        const roomId = room.id;
        const member: MemberRecord = { roomId, id: 'm-1', displayName: 'Ada', role: 'owner', createdAt: room.createdAt };
        const calls: Array<[string, (s: Stores) => Promise<unknown>]> = [
          ['appendUpdates', (s) => s.documents.appendUpdates(roomId, [bytes(1)])],
          ['loadDocument', (s) => s.documents.loadDocument(roomId)],
          ['writeSnapshot', (s) => s.documents.writeSnapshot(roomId, bytes(1), 1)],
          ['createRoom', (s) => s.rooms.createRoom(room)],
          ['getRoom', (s) => s.rooms.getRoom(roomId)],
          ['updateRoomSettings', (s) => s.rooms.updateRoomSettings(roomId, room.settings)],
          ['createJoinCode', (s) => s.rooms.createJoinCode({ code: newJoinCode(), roomId, role: 'viewer', createdAt: room.createdAt })],
          ['addMember', (s) => s.rooms.addMember(member)],
          ['getMember', (s) => s.rooms.getMember(roomId, member.id)],
          ['listMembers', (s) => s.rooms.listMembers(roomId)],
          ['removeMember', (s) => s.rooms.removeMember(roomId, member.id)],
          ['saveVersion', (s) => s.versions.saveVersion({ roomId, id: 'v1', name: 'n', kind: 'manual', createdAt: room.createdAt, createdBy: 'm-1', snapshot: bytes(1) })],
          ['listVersions', (s) => s.versions.listVersions(roomId)],
          ['getVersion', (s) => s.versions.getVersion(roomId, 'v1')],
          ['renameVersion', (s) => s.versions.renameVersion(roomId, 'v1', 'renamed')],
          ['deleteVersion', (s) => s.versions.deleteVersion(roomId, 'v1')],
          ['saveProposal', (s) => s.records.saveProposal({ roomId, id: 'p1', kind: 'text', requestedBy: 'm-1', mode: 'continue', model: 'm', createdAt: room.createdAt, status: 'pending', alternatives: [] })],
          ['listProposals', (s) => s.records.listProposals(roomId, 10)],
          ['addFeedback', (s) => s.records.addFeedback({ roomId, memberId: 'm-1', proposalId: 'p1', alternative: 0, action: 'shown', text: 't', at: room.createdAt })],
          ['listFeedback', (s) => s.records.listFeedback(roomId)],
          ['putImage', (s) => s.records.putImage({ roomId, id: 'i1', mime: 'image/png', data: bytes(1), createdAt: room.createdAt })],
          ['getImage', (s) => s.records.getImage(roomId, 'i1')],
        ];
        await harness.breakBackend(broken);
        for (const [operation, call] of calls) {
          const error = await expectStoreError(call(broken), 'backend', operation);
          expect(error.roomId).toBe(roomId);
          expect(error.message).toContain(roomId);
        }
        await expectStoreError(broken.rooms.findJoinCode(room.joinCode), 'backend', 'findJoinCode');
        await broken.close().catch(() => undefined);
      });
    });
  });
}
