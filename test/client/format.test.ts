import { describe, expect, it } from 'vitest';
import { agentStateLabel, connectionLabel, describeAckError, describeCloseCode, excerpt, initials, percent, unwrapAck } from '../../client/src/lib/format';

describe('format', () => {
  it('explains ack errors in words', () => {
    expect(describeAckError({ code: 'rate_limited', message: '' })).toBe('You are being rate limited — wait a few seconds and try again.');
    expect(describeAckError({ code: 'forbidden', message: 'viewers cannot request' })).toMatch(/^You are not allowed.*viewers cannot request$/);
    expect(describeAckError({ code: 'anchor_deleted', message: 'gone' })).toMatch(/deleted/);
    expect(describeAckError({ code: 'weird' as never, message: 'x' })).toBe('Error (weird): x');
    expect(describeAckError(undefined)).toBe('Something went wrong.');
  });
  it('unwraps acks', () => {
    expect(unwrapAck<{ n: number }>({ ok: true, n: 1 })).toMatchObject({ n: 1 });
    expect(() => unwrapAck({ ok: false, error: { code: 'busy', message: 'full' } })).toThrow(/busy/);
  });
  it('is honest about the connection', () => {
    expect(connectionLabel('connected', true, false)).toBe('Connected · saved');
    expect(connectionLabel('disconnected', false, true)).toMatch(/edits are kept/);
    expect(connectionLabel('connecting', false, false)).toBe('Connecting…');
    expect(describeCloseCode(4401)).toMatch(/Join the room again/);
    expect(describeCloseCode(4404)).toMatch(/does not exist/);
    expect(describeCloseCode(4410)).toMatch(/removed you/);
    expect(describeCloseCode(4440)).toMatch(/expired/);
    expect(describeCloseCode(4422)).toMatch(/refused a change.*reload/);
    expect(describeCloseCode(4429)).toMatch(/too fast/);
    expect(describeCloseCode(4509)).toMatch(/Reconnecting/);
    expect(describeCloseCode(3000, 'bye')).toBe('Connection closed: bye');
  });
  it('formats small things', () => {
    expect(agentStateLabel('writing')).toBe('writing…');
    expect(agentStateLabel(undefined)).toBe('idle');
    expect(percent(1, 3)).toBe('33%');
    expect(percent(1, 0)).toBe('0%');
    expect(excerpt('one two three four five', 15)).toBe('one two three…');
    expect(excerpt('short', 15)).toBe('short');
    expect(initials('Ada Lovelace')).toBe('AL');
    expect(initials('bob')).toBe('BO');
    expect(initials('  ')).toBe('?');
  });
});
