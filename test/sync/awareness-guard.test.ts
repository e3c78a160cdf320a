import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { Awareness, applyAwarenessUpdate } from 'y-protocols/awareness';
import { describe, expect, it } from 'vitest';
import type { TokenClaims } from '../../shared/src/index';
import { AwarenessGuard, sanitizeAwarenessState } from '../../server/src/sync/awareness-guard';

const claims: TokenClaims = { roomId: 'room-0001', memberId: 'm-mallory', displayName: 'Mallory', role: 'editor' };

/** An awareness update (y-protocols encoding, without the message type). */
function update(...entries: Array<{ clientId: number; clock: number; state: unknown }>): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, entries.length);
  for (const e of entries) {
    encoding.writeVarUint(enc, e.clientId);
    encoding.writeVarUint(enc, e.clock);
    encoding.writeVarString(enc, JSON.stringify(e.state));
  }
  return encoding.toUint8Array(enc);
}

/** A guard on a fake clock, applying what it lets through to a room awareness. */
function setup() {
  const clock = { now: 0 };
  const guard = new AwarenessGuard(claims, { maxStateBytes: 8192, updatesPerSec: 30 }, () => clock.now);
  const doc = new Y.Doc();
  const awareness = new Awareness(doc);
  awareness.setLocalState(null);
  let applied = 0;
  let abusive = false;
  const reasons = new Set<string>();
  const send = (u: Uint8Array) => {
    const verdict = guard.filterUpdate(u, awareness, (id) => id !== doc.clientID);
    verdict.rejected.forEach((r) => reasons.add(r));
    if (verdict.abusive) abusive = true;
    if (verdict.update) {
      applyAwarenessUpdate(awareness, verdict.update, 'client');
      applied++;
    }
  };
  return { clock, guard, awareness, send, reasons, stats: () => ({ applied, abusive }) };
}

const cursorState = (n: number) => ({ user: { color: '#1971c2' }, cursor: { anchor: { assoc: n }, head: { assoc: n } } });

describe('AwarenessGuard', () => {
  it('sixty updates a second for a minute (a selection drag) are rate-limited but never abusive', () => {
    const { clock, send, stats, reasons } = setup();
    for (let i = 1; i <= 60 * 60; i++) {
      clock.now = (i * 1000) / 60;
      send(update({ clientId: 7, clock: i, state: cursorState(i) }));
    }
    expect(stats().abusive).toBe(false);
    expect(stats().applied).toBeGreaterThanOrEqual(30 * 60);
    expect(stats().applied).toBeLessThanOrEqual(30 * 60 + 60);
    expect([...reasons]).toEqual(['awareness_rate']);
  });

  it('four times the rate, or a flood, gets the burst and the rate through and is then abusive', () => {
    const { clock, send, stats } = setup();
    let i = 0;
    while (!stats().abusive && i < 100_000) {
      i++;
      clock.now = (i * 1000) / 120;
      send(update({ clientId: 7, clock: i, state: cursorState(i) }));
    }
    expect(stats().abusive).toBe(true);
    // 90 dropped a second outrun the tolerance's refill of 60: closed after a few seconds, with
    // no more than the burst and the rate applied meanwhile.
    expect(stats().applied).toBeLessThanOrEqual(60 + Math.ceil((30 * i) / 120) + 1);
  });

  it('a flood gets its burst through and is then abusive', () => {
    const { send, stats } = setup();
    for (let i = 1; i <= 1000; i++) send(update({ clientId: 7, clock: i, state: cursorState(i) }));
    expect(stats()).toEqual({ applied: 60, abusive: true });
  });

  it('two bad states a second are tolerated, four a second are not', () => {
    const tooBig = { user: { color: '#1971c2' }, pad: 'x'.repeat(9000) };
    for (const [perSec, expected] of [
      [2, false],
      [4, true],
    ] as const) {
      const { clock, send, stats } = setup();
      for (let i = 1; i <= 60 * perSec; i++) {
        clock.now = (i * 1000) / perSec;
        send(update({ clientId: 7, clock: i, state: i % 2 ? tooBig : { user: { color: 'red' } } }));
      }
      expect(stats().abusive).toBe(expected);
      expect(stats().applied).toBe(0);
    }
  });

  it('speaks for the first client id it sets; echoes of other states are skipped silently', () => {
    const { awareness, send, reasons, stats } = setup();
    applyAwarenessUpdate(awareness, update({ clientId: 99, clock: 3, state: { user: { name: 'Other' } } }), 'other');
    send(update({ clientId: 99, clock: 3, state: { user: { name: 'Other' } } })); // a stock client's echo
    expect(reasons.size).toBe(0);
    send(update({ clientId: 7, clock: 1, state: {} }));
    send(update({ clientId: 8, clock: 1, state: {} }, { clientId: 7, clock: 2, state: { user: { color: '#abc' } } }));
    expect([...reasons]).toEqual(['extra_awareness_id']);
    expect(awareness.getStates().has(8)).toBe(false);
    expect(awareness.getStates().get(7)).toEqual({ user: { name: 'Mallory', memberId: 'm-mallory', role: 'editor', color: '#abc' } });
    send(update({ clientId: 7, clock: 3, state: null })); // it may leave
    expect(awareness.getStates().has(7)).toBe(false);
    expect(stats().applied).toBe(3);
  });

  it('identity comes from the claims; unknown keys are stripped; colours and cursors are checked', () => {
    const forged = { user: { name: 'Ensemble AI', memberId: 'ensemble-agent', role: 'owner', agent: { state: 'idle', model: 'x' }, color: '#8b5cf6' }, agent: true };
    expect(sanitizeAwarenessState(forged, claims)).toEqual({ user: { name: 'Mallory', memberId: 'm-mallory', role: 'editor', color: '#8b5cf6' } });
    expect(sanitizeAwarenessState({}, claims)).toEqual({ user: { name: 'Mallory', memberId: 'm-mallory', role: 'editor' } });
    expect(sanitizeAwarenessState({ user: { color: 'red' } }, claims)).toBeNull();
    expect(sanitizeAwarenessState({ user: { color: '#00000000' } }, claims)).toBeNull();
    expect(sanitizeAwarenessState({ cursor: { anchor: 1, head: 2 } }, claims)).toBeNull();
    expect(sanitizeAwarenessState([], claims)).toBeNull();
    const cursor = { anchor: { type: { client: 1, clock: 0 }, tname: null, item: null, assoc: 0 }, head: { tname: 'story' } };
    expect(sanitizeAwarenessState({ cursor }, claims)).toEqual({ cursor, user: { name: 'Mallory', memberId: 'm-mallory', role: 'editor' } });
  });
});
