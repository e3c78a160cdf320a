import { describe, expect, it } from 'vitest';
import type { Session } from '../../client/src/lib/session';
import { forgetRoom, listMyRooms, myRoom, rememberRoom, resumeTokens, roomIdFromPath, roomPath, setRoomColor } from '../../client/src/lib/my-rooms';
import { colorDistance, PALETTE, pickColor, shouldYieldColor, TOO_CLOSE } from '../../client/src/lib/colors';
import { rankForYou, rankLabel } from '../../client/src/lib/ranking';
import { countWords, wordCountLabel } from '../../client/src/lib/word-count';
import { foldSettled } from '../../client/src/lib/proposal-list';

class MemoryStorage {
  private readonly map = new Map<string, string>();
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.map.set(k, v);
  }
  removeItem(k: string) {
    this.map.delete(k);
  }
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const token = (exp: number) => `${b64({ alg: 'HS256' })}.${b64({ exp })}.sig`;
const future = Math.floor(Date.now() / 1000) + 3600;

function session(roomId: string, name = 'Ben', exp = future): Session {
  return {
    room: { id: roomId, name: `Room ${roomId}`, kind: 'writers-room', joinCode: 'ABCDEFGH', createdAt: '2026-01-01T00:00:00.000Z', settings: {} as Session['room']['settings'] },
    member: { id: `m-${roomId}`, displayName: name, role: 'editor' },
    token: token(exp),
  };
}

describe('my rooms (localStorage)', () => {
  it('remembers rooms newest first, resumes one by id, forgets on request', () => {
    const s = new MemoryStorage();
    rememberRoom(s, session('r1'), new Date('2026-01-01T10:00:00Z'));
    rememberRoom(s, session('r2'), new Date('2026-01-01T11:00:00Z'));
    expect(listMyRooms(s).map((r) => r.room.id)).toEqual(['r2', 'r1']);
    rememberRoom(s, session('r1'), new Date('2026-01-01T12:00:00Z'));
    expect(listMyRooms(s).map((r) => r.room.id)).toEqual(['r1', 'r2']);
    expect(myRoom(s, 'r2')?.member.id).toBe('m-r2');
    expect(resumeTokens(s)).toHaveLength(2);
    forgetRoom(s, 'r1');
    expect(listMyRooms(s).map((r) => r.room.id)).toEqual(['r2']);
    expect(myRoom(s, 'r1')).toBeNull();
  });

  it('drops expired tokens and survives garbage in storage', () => {
    const s = new MemoryStorage();
    rememberRoom(s, session('old', 'Ben', Math.floor(Date.now() / 1000) - 10));
    expect(listMyRooms(s)).toEqual([]);
    s.setItem('ensemble.rooms', '{not json');
    expect(listMyRooms(s)).toEqual([]);
    s.setItem('ensemble.rooms', JSON.stringify({ x: { token: 1 } }));
    expect(listMyRooms(s)).toEqual([]);
  });

  it('keeps the picked colour across re-remembering', () => {
    const s = new MemoryStorage();
    rememberRoom(s, session('r1'));
    setRoomColor(s, 'r1', '#2b8a3e');
    rememberRoom(s, session('r1'));
    expect(myRoom(s, 'r1')?.color).toBe('#2b8a3e');
  });

  it('room paths round-trip and reject other paths', () => {
    expect(roomIdFromPath(roomPath('abc_DEF-12'))).toBe('abc_DEF-12');
    expect(roomIdFromPath('/r/abc/')).toBe('abc');
    expect(roomIdFromPath('/')).toBeNull();
    expect(roomIdFromPath('/r/a%2Fb')).toBeNull();
    expect(roomIdFromPath('/x/abc')).toBeNull();
  });
});

describe('distinct colours', () => {
  it('the palette’s two blues are "too close"; a pick avoids every taken colour', () => {
    expect(colorDistance('#1971c2', '#364fc7')).toBeLessThan(TOO_CLOSE);
    const picked = pickColor('#364fc7', ['#1971c2']);
    expect(colorDistance(picked, '#1971c2')).toBeGreaterThanOrEqual(TOO_CLOSE);
    // Maximin over several present members.
    const taken = ['#1971c2', '#d9480f', '#2b8a3e'];
    const p = pickColor('#364fc7', taken);
    const best = Math.max(...PALETTE.map((c) => Math.min(...taken.map((t) => colorDistance(c, t)))));
    expect(Math.min(...taken.map((t) => colorDistance(p, t)))).toBe(best);
  });

  it('keeps a preferred colour that is already distinct', () => {
    expect(pickColor('#d9480f', ['#1971c2'])).toBe('#d9480f');
  });

  it('of two members with close colours exactly one yields', () => {
    const a = { memberId: 'aaa', color: '#1971c2' };
    const b = { memberId: 'bbb', color: '#364fc7' };
    expect(shouldYieldColor(a, [b])).toBe(false);
    expect(shouldYieldColor(b, [a])).toBe(true);
    expect(shouldYieldColor(b, [{ memberId: 'aaa', color: '#d9480f' }])).toBe(false);
  });
});

describe('"#1 for you" counts votes', () => {
  const alts = (votes: Array<[number, number, -1 | 0 | 1]>) => votes.map(([up, down, myVote], index) => ({ index, up, down, myVote }));
  it('without votes follows the server ranking', () => {
    expect(rankForYou(alts([[0, 0, 0], [0, 0, 0], [0, 0, 0]]), [2, 0, 1])).toEqual([2, 0, 1]);
  });
  it('my up-vote wins over the server ranking; a down-vote sinks', () => {
    const order = rankForYou(alts([[1, 0, 1], [0, 0, 0], [0, 1, -1]]), [2, 1, 0]);
    expect(rankLabel(0, order)).toBe('#1');
    expect(order[order.length - 1]).toBe(2);
  });
  it("the room's net votes rank next", () => {
    expect(rankForYou(alts([[0, 2, 0], [3, 0, 0], [1, 0, 0]]), [0, 1, 2])).toEqual([1, 2, 0]);
  });
});

describe('word count', () => {
  it('counts words, not punctuation; keeps contractions and hyphenated words whole', () => {
    expect(countWords('')).toBe(0);
    expect(countWords('  The fog — rolled in. ')).toBe(4);
    expect(countWords("Don't stop the well-known café, 42 times!")).toBe(7);
    expect(wordCountLabel(1, null)).toBe('1 word');
    expect(wordCountLabel(12, 3)).toBe('3 of 12 words selected');
  });
});

describe('proposal list folding', () => {
  it('keeps every live card and the newest settled ones; folds the rest', () => {
    const views = Array.from({ length: 12 }, (_, i) => ({ id: i, live: i % 4 === 0 }));
    const { shown, folded } = foldSettled(views, (v) => !v.live, 5);
    expect(shown.filter((v) => v.live)).toHaveLength(3);
    expect(shown.filter((v) => !v.live)).toHaveLength(5);
    expect(folded).toHaveLength(4);
    expect(shown.map((v) => v.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 8]);
  });
});
