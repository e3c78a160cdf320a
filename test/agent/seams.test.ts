// Unit tests of the RoomAgent's collaborators: admission decisions, the record mapping, auto-mode
// decisions and timing, the live-proposal book, and ProposalService's outcome mapping on a small
// fake Inference.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { defaultRoomSettings, storyOf, type ProposalInfo, type Role, type RoomSettings } from '../../shared/src/index';
import { Admission, AgentError, AgentRecords, AutoMode, ProposalService, RateLimiter, autoModeArmed, autoOfferDue, canEdit, toProposalRecord } from '../../server/src/agent/index';
import { LiveProposals } from '../../server/src/agent/live-proposals';
import type { ImageProposal, TextProposal } from '../../server/src/agent/types';
import { GenerationStream, InferenceError, type Inference } from '../../server/src/inference/index';
import { HashingEmbedder, RecommendationService } from '../../server/src/recommendation/index';
import { createStore } from '../../server/src/storage/index';
import type { RoomRecord, Stores } from '../../server/src/storage/store';
import { tempDataDir, testConfig } from '../helpers/index';
import { removeDir } from './harness';

type Logger = ConstructorParameters<typeof AgentRecords>[4];

const actor = (role: Role, memberId = `m-${role}`) => ({ memberId, displayName: memberId, role });

function roomRecord(settings: Partial<RoomSettings> = {}, id = 'room1'): RoomRecord {
  return { id, name: 'A room', kind: 'writers-room', joinCode: 'ABCDEF', ownerId: 'm-owner', createdAt: new Date(0).toISOString(), settings: { ...defaultRoomSettings('writers-room'), ...settings } };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof AgentError) return err.code;
    throw err;
  }
}

function info(kind: 'text' | 'image', id: string, extra: Partial<ProposalInfo> = {}): ProposalInfo {
  return { id, kind, requestedBy: { memberId: 'm-editor', displayName: 'Ed' }, mode: kind === 'text' ? 'continue' : 'image', alternatives: 2, firstAlternative: 0, model: 'tiny', createdAt: new Date(0).toISOString(), status: 'ready', ...extra };
}

function textProposal(id: string, texts: string[], done = true): TextProposal {
  return {
    kind: 'text',
    info: info('text', id),
    anchor: Y.createRelativePositionFromTypeIndex(new Y.Doc().getText('t'), 0),
    anchorEnd: null,
    prompt: 'p',
    context: 'c',
    alts: texts.map((text, index) => ({ index, seed: index, text, seq: text ? 1 : 0, done, controller: new AbortController() })),
    votes: new Map(),
  };
}

describe('Admission: roles, aiMode, quota, rate, capacity', () => {
  const admission = (opts: { settings?: Partial<RoomSettings>; engine?: boolean; stored?: string[]; burst?: number; max?: number } = {}) => {
    const limiter = new RateLimiter(opts.burst ?? 100, 60);
    const a = new Admission({
      roomId: 'room1',
      engineAvailable: opts.engine ?? true,
      limiter,
      maxConcurrentPerRoom: opts.max ?? 4,
      room: async () => roomRecord(opts.settings),
      storedRequesters: async () => opts.stored ?? [],
    });
    return { a, limiter };
  };

  it('editors and owners may edit; viewers are refused with the caller message, before any rate is spent', async () => {
    expect([canEdit('owner'), canEdit('editor'), canEdit('viewer')]).toEqual([true, true, false]);
    const { a, limiter } = admission({ burst: 1 });
    expect(() => a.requireEditor(actor('viewer'), 'viewers cannot vote')).toThrow('viewers cannot vote');
    expect(() => a.requireEditor(actor('editor'), 'x')).not.toThrow();
    expect(await codeOf(a.admit(actor('viewer'), 1, 0))).toBe('forbidden');
    expect(limiter.take('room1:m-viewer')).toBe(true); // the refused request took no token
  });

  it('no engine, or aiMode off: ai_disabled', async () => {
    expect(await codeOf(admission({ engine: false }).a.admit(actor('editor'), 1, 0))).toBe('ai_disabled');
    expect(await codeOf(admission({ settings: { aiMode: 'off' } }).a.admit(actor('owner'), 1, 0))).toBe('ai_disabled');
  });

  it("limited: stored and new requests count against each member's quota; owners are exempt", async () => {
    const { a } = admission({ settings: { aiMode: 'limited', aiUsesPerMember: 2 }, stored: ['m-editor', 'm-other', 'm-owner', 'm-owner'] });
    expect(await codeOf(a.admit(actor('editor'), 1, 0))).toBe('ok');
    await a.spend('m-editor');
    expect(await codeOf(a.admit(actor('editor'), 1, 0))).toBe('quota_exhausted');
    expect(await codeOf(a.admit(actor('editor', 'm-other'), 1, 0))).toBe('ok');
    expect(await codeOf(a.admit(actor('owner'), 1, 0))).toBe('ok');
    expect(await codeOf(admission({ settings: { aiMode: 'on', aiUsesPerMember: 0 } }).a.admit(actor('editor'), 1, 0))).toBe('ok');
  });

  it('the per-member rate: the burst, then rate_limited with a retry time, per member', async () => {
    const { a } = admission({ burst: 2 });
    expect(await codeOf(a.admit(actor('editor'), 1, 0))).toBe('ok');
    expect(await codeOf(a.admit(actor('editor'), 1, 0))).toBe('ok');
    await expect(a.admit(actor('editor'), 1, 0)).rejects.toThrow(/too many AI requests; try again in \d+ s/);
    expect(await codeOf(a.admit(actor('owner'), 1, 0))).toBe('ok');
  });

  it('capacity: busy when the alternatives would exceed the room limit; images (0 generations) are never busy', async () => {
    const { a } = admission({ max: 4 });
    expect(await codeOf(a.admit(actor('editor'), 2, 2))).toBe('ok');
    expect(await codeOf(a.admit(actor('editor'), 3, 2))).toBe('busy');
    expect(await codeOf(a.admit(actor('editor'), 0, 9))).toBe('ok');
    expect(() => a.admitAuto(1, 4)).toThrow(AgentError);
    expect(() => a.admitAuto(1, 3)).not.toThrow();
  });
});

describe('records: live proposals ↔ stored records (real SQLite store)', () => {
  const dataDir = tempDataDir('ensemble-records-');
  let store: Stores;
  let records: AgentRecords;
  const errors: unknown[] = [];
  const logger = { error: (...args: unknown[]) => errors.push(args) } as unknown as Logger;

  beforeAll(async () => {
    store = createStore(testConfig(dataDir));
    await store.init();
    await store.rooms.createRoom(roomRecord());
    records = new AgentRecords('room1', store.rooms, store.records, new RecommendationService(store.records, new HashingEmbedder()), logger);
  });
  afterAll(async () => {
    await store.close();
    removeDir(dataDir);
  });

  it('a text proposal: each alternative text, the accepted one as inserted, who accepted, the instruction', () => {
    const p = textProposal('p1', ['one', 'two']);
    p.info.instruction = 'darker';
    expect(toProposalRecord('room1', p)).toEqual({ roomId: 'room1', id: 'p1', kind: 'text', requestedBy: 'm-editor', mode: 'continue', model: 'tiny', createdAt: p.info.createdAt, status: 'ready', alternatives: ['one', 'two'], instruction: 'darker' });
    p.acceptedAlternative = 1;
    p.acceptedBy = 'm-owner';
    p.insertedText = ' two';
    p.info.status = 'accepted';
    expect(toProposalRecord('room1', p)).toMatchObject({ status: 'accepted', alternatives: ['one', ' two'], acceptedAlternative: 1, acceptedBy: 'm-owner' });
  });

  it('an image proposal: its image ids and panel', () => {
    const p: ImageProposal = { kind: 'image', info: info('image', 'i1'), panelId: 'panel-1', prompt: 'a lighthouse', images: [{ alternative: 0, imageId: 'img-a', url: '/a' }] };
    expect(toProposalRecord('room1', p)).toMatchObject({ kind: 'image', mode: 'image', panelId: 'panel-1', alternatives: ['img-a'] });
    expect(toProposalRecord('room1', p)).not.toHaveProperty('acceptedAlternative');
  });

  it('save, requesters and feedback go to the store', async () => {
    const p = textProposal('p2', ['alpha', 'beta']);
    await records.save(p);
    expect((await store.records.listProposals('room1', 10)).find((r) => r.id === 'p2')?.alternatives).toEqual(['alpha', 'beta']);
    expect(await records.requesters()).toContain('m-editor');
    expect((await records.room())?.name).toBe('A room');
    await records.feedback('m-editor', 'p2', 1, 'vote-up', 'beta');
    expect((await store.records.listFeedback('room1', 'm-editor')).map((f) => f.action)).toContain('vote-up');
  });

  it('a failing save is logged, not thrown', async () => {
    const failing = { ...store.records, saveProposal: async () => { throw new Error('disk full'); } };
    const broken = new AgentRecords('room1', store.rooms, failing, new RecommendationService(store.records, new HashingEmbedder()), logger);
    await expect(broken.save(textProposal('p3', ['x']))).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
  });
});

describe('auto mode', () => {
  it('armed only with autoMode on, aiMode not off and an engine', () => {
    const s = defaultRoomSettings('writers-room');
    expect(autoModeArmed({ ...s, autoMode: true }, true)).toBe(true);
    expect(autoModeArmed({ ...s, autoMode: false }, true)).toBe(false);
    expect(autoModeArmed({ ...s, autoMode: true, aiMode: 'off' }, true)).toBe(false);
    expect(autoModeArmed({ ...s, autoMode: true }, false)).toBe(false);
  });

  it('due when still on, attached, idle and past max(min interval, pause) since the last offer', () => {
    const s = { ...defaultRoomSettings('writers-room'), autoMode: true, autoPauseSec: 8 };
    const ok = { attached: true, active: 0, msSinceLast: 60_000, minIntervalSec: 60 };
    expect(autoOfferDue(s, ok)).toBe(true);
    expect(autoOfferDue(s, { ...ok, msSinceLast: 59_999 })).toBe(false);
    expect(autoOfferDue({ ...s, autoPauseSec: 120 }, ok)).toBe(false);
    expect(autoOfferDue(s, { ...ok, active: 1 })).toBe(false);
    expect(autoOfferDue(s, { ...ok, attached: false })).toBe(false);
    expect(autoOfferDue({ ...s, autoMode: false }, ok)).toBe(false);
    expect(autoOfferDue({ ...s, aiMode: 'off' }, ok)).toBe(false);
  });

  it('offers once after the pause, not again within the interval, and not to an empty room or story', async () => {
    vi.useFakeTimers();
    try {
      let now = 1_000_000;
      const doc = new Y.Doc();
      const room = roomRecord({ autoMode: true, autoPauseSec: 2 });
      let members = 1;
      const offers: Y.RelativePosition[] = [];
      const auto = new AutoMode(
        {
          engineAvailable: true,
          minIntervalSec: 60,
          cached: () => ({ at: now, room }),
          roomRecord: async () => room,
          doc: () => doc,
          activeGenerations: () => 0,
          memberCount: async () => members,
          offer: async (anchor) => offers.push(anchor),
          onSkipped: () => {},
        },
        () => now,
      );
      auto.schedule();
      await vi.advanceTimersByTimeAsync(2500);
      expect(offers).toHaveLength(0); // the story is empty
      const p = new Y.XmlElement('paragraph');
      const t = new Y.XmlText();
      storyOf(doc).push([p]);
      p.insert(0, [t]);
      t.insert(0, 'Once upon a time');
      auto.schedule();
      await vi.advanceTimersByTimeAsync(1500);
      expect(offers).toHaveLength(0); // still pausing
      await vi.advanceTimersByTimeAsync(1000);
      expect(offers).toHaveLength(1);
      now += 30_000;
      auto.schedule();
      await vi.advanceTimersByTimeAsync(2500);
      expect(offers).toHaveLength(1); // within the 60 s interval
      now += 60_000;
      members = 0;
      auto.schedule();
      await vi.advanceTimersByTimeAsync(2500);
      expect(offers).toHaveLength(1); // nobody connected
      members = 1;
      auto.dispose();
      auto.schedule();
      await vi.advanceTimersByTimeAsync(2500);
      expect(offers).toHaveLength(1); // disposed
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('LiveProposals', () => {
  it('finds by kind, aborts running text, derives the presence state and keeps the newest finished ones', () => {
    const live = new LiveProposals(2);
    expect(live.state()).toBe('idle');
    const running = textProposal('t1', ['', ''], false);
    live.add(running);
    expect(live.state()).toBe('thinking');
    running.alts[0]!.seq = 1;
    expect(live.state()).toBe('writing');
    expect(() => live.image('t1')).toThrow('use proposal:accept');
    expect(() => live.get('nope')).toThrow(AgentError);
    live.abortAll();
    expect(running.alts.every((a) => a.controller.signal.aborted)).toBe(true);
    live.add(textProposal('t2', ['a']));
    live.add(textProposal('t3', ['b']));
    expect([...live.values()].map((p) => p.info.id)).toEqual(['t1', 't3']); // t1 still runs; t2 was the oldest finished
  });
});

describe('ProposalService on a small fake Inference', () => {
  /** Streams `chunks`, then ends the way `end` says. */
  const fake = (chunks: string[], end: { finish: 'stop' | 'aborted' | 'deadline' } | { fail: InferenceError }): Pick<Inference, 'generate'> => ({
    generate() {
      const s = new GenerationStream(() => {});
      queueMicrotask(() => {
        for (const text of chunks) s.push({ text, tokenId: 0 });
        if ('fail' in end) s.fail(end.fail);
        else s.finish({ text: chunks.join(''), finishReason: end.finish, tokens: chunks.length } as never);
      });
      return s;
    },
  });
  const run = async (engine: Pick<Inference, 'generate'>) => {
    const out: { deltas: string[]; done?: unknown; failed?: string } = { deltas: [] };
    await new ProposalService(engine).run('prompt', 'room1', 1, new AbortController().signal, null, {
      onDelta: (t) => out.deltas.push(t),
      onDone: (d) => (out.done = d),
      onFailed: (e) => (out.failed = e.code),
    });
    return out;
  };

  it('maps the engine outcomes onto the protocol', async () => {
    expect((await run(fake(['Once', ' upon'], { finish: 'stop' }))).done).toEqual({ text: 'Once upon', finishReason: 'stop' });
    expect((await run(fake(['Once'], { finish: 'aborted' }))).done).toEqual({ text: 'Once', finishReason: 'stopped' });
    expect((await run(fake(['Once'], { finish: 'deadline' }))).done).toEqual({ text: 'Once', finishReason: 'length' });
    // Cut short by an error: what was released stands, as stopped (aborted) or length (deadline).
    expect((await run(fake(['Once'], { fail: new InferenceError('aborted', 'aborted') }))).done).toEqual({ text: 'Once', finishReason: 'stopped' });
    expect((await run(fake(['Once'], { fail: new InferenceError('deadline', 'late') }))).done).toEqual({ text: 'Once', finishReason: 'length' });
    expect((await run(fake([], { fail: new InferenceError('busy', 'queue full') }))).failed).toBe('busy');
  });
});
