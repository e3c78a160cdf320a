import { describe, expect, it } from 'vitest';
import {
  CRAFT_MOVES,
  HashingEmbedder,
  RecommendationService,
  mmr,
  ndcgAt,
  orderByScore,
} from '../../server/src/recommendation/index';
import { feedbackStore, STYLE_TEXTS } from './fakes';

describe('personal ranking', () => {
  it('without history the unpersonalised order is kept', async () => {
    const svc = new RecommendationService(feedbackStore(), new HashingEmbedder());
    expect(await svc.rank('r', 'm', ['a long one here', 'b', 'c'])).toEqual([0, 1, 2]);
  });

  it('a member who rejects long florid text and accepts short text sees short first after a few rounds', async () => {
    const svc = new RecommendationService(feedbackStore(), new HashingEmbedder());
    const { SHORT, LONG } = STYLE_TEXTS;
    for (let round = 0; round < 3; round++) {
      await svc.record('r', 'ann', `p${round}`, 0, 'reject', LONG[round]!);
      await svc.record('r', 'ann', `p${round}`, 1, 'accept', SHORT[round]!);
    }
    // New, unseen alternatives: long ones listed first.
    const candidates = [LONG[3]!, LONG[4]!, SHORT[5]!, SHORT[6]!];
    const order = await svc.rank('r', 'ann', candidates);
    expect(order.slice(0, 2).sort()).toEqual([2, 3]);
    // Another member of the room is unaffected.
    expect(await svc.rank('r', 'ben', candidates)).toEqual([0, 1, 2, 3]);
  });

  it('the opposite taste gives the opposite order', async () => {
    const svc = new RecommendationService(feedbackStore(), new HashingEmbedder());
    const { SHORT, LONG } = STYLE_TEXTS;
    for (let round = 0; round < 3; round++) {
      await svc.record('r', 'cy', `p${round}`, 0, 'accept', LONG[round]!);
      await svc.record('r', 'cy', `p${round}`, 1, 'vote-down', SHORT[round]!);
    }
    const order = await svc.rank('r', 'cy', [SHORT[5]!, SHORT[6]!, LONG[3]!, LONG[4]!]);
    expect(order.slice(0, 2).sort()).toEqual([2, 3]);
  });
});

describe('what next', () => {
  it('has at least 12 craft moves and returns diverse moves ranked for the context', async () => {
    expect(CRAFT_MOVES.length).toBeGreaterThanOrEqual(12);
    const svc = new RecommendationService(feedbackStore(), new HashingEmbedder());
    const ctx = 'The street was dark and the smell of rain hung over the old house; the trees and the sky were grey and the light from the walls was dim.';
    const out = await svc.next('r', 'm', ctx, []);
    const moves = out.filter((s) => s.kind === 'craft-move');
    expect(moves).toHaveLength(5);
    expect(new Set(moves.map((m) => m.id)).size).toBe(5);
    expect(moves[0]!.id).toBe('move:setting');
  });

  it('dismissed moves drop and related passages come from the library by similarity', async () => {
    const svc = new RecommendationService(feedbackStore(), new HashingEmbedder());
    const ctx = 'The lighthouse keeper climbed the stairs with her lantern.';
    const first = await svc.next('r', 'm', ctx, []);
    const top = first[0]!.id;
    await svc.record('r', 'm', top, 0, 'dismiss', svc.suggestionText(top));
    await svc.record('r', 'm', top, 0, 'dismiss', svc.suggestionText(top));
    const second = await svc.next('r', 'm', ctx, [
      { roomId: 'r', roomName: 'Room', text: 'Far below the lighthouse the keeper saw a lantern moving on the stairs of the cliff.' },
      { roomId: 'o', roomName: 'Other', text: 'The accountant filed the quarterly spreadsheets before lunch on Tuesday.' },
    ]);
    expect(second.filter((s) => s.kind === 'craft-move').map((s) => s.id)).not.toContain(top);
    const passages = second.filter((s) => s.kind === 'related-passage');
    expect(passages[0]).toMatchObject({ kind: 'related-passage', source: { roomId: 'r', roomName: 'Room' } });
    expect(passages[0]!.excerpt).toContain('lighthouse');
  });
  it('with every move dismissed it still offers five, the least dismissed first', async () => {
    const svc = new RecommendationService(feedbackStore(), new HashingEmbedder());
    const ctx = 'The lighthouse keeper climbed the stairs with her lantern.';
    const all = (await svc.next('r', 'm', ctx, [], { moves: CRAFT_MOVES.length })).map((s) => s.id);
    expect(new Set(all).size).toBe(CRAFT_MOVES.length);
    const once = all.slice(-2);
    for (const id of all) await svc.record('r', 'm', id, 0, 'dismiss', svc.suggestionText(id));
    for (const id of all.slice(0, -2)) await svc.record('r', 'm', id, 0, 'dismiss', svc.suggestionText(id));
    const moves = (await svc.next('r', 'm', ctx, [])).map((s) => s.id);
    expect(moves).toHaveLength(5);
    expect(moves.slice(0, 2).sort()).toEqual(once.sort());
  });
});

describe('ranking maths', () => {
  it('mmr prefers diverse items; ndcg and orderByScore behave', () => {
    const v = [
      [1, 0],
      [1, 0],
      [0, 1],
    ];
    expect(mmr([1, 0.99, 0.6], v, 2, 0.5)).toEqual([0, 2]);
    expect(orderByScore([0.1, 0.5, 0.5, -1])).toEqual([1, 2, 0, 3]);
    expect(ndcgAt([0, 1, 2], [3, 2, 1], 3)).toBeCloseTo(1);
    expect(ndcgAt([2, 1, 0], [3, 2, 1], 3)).toBeLessThan(1);
  });
});
