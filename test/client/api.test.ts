import { describe, expect, it } from 'vitest';
import type { ProvenanceReport } from '@ensemble/shared';
import { ApiClient, ApiRequestError, describeHttpError, provenanceRows, UNREACHABLE_MESSAGE, type FetchLike } from '../../client/src/lib/api';

function fakeFetch(status: number, body: unknown, calls: Array<{ url: string; init?: RequestInit }> = []): FetchLike {
  return async (url, init) => {
    calls.push({ url, ...(init ? { init } : {}) });
    return new Response(body === undefined ? '' : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  };
}

describe('describeHttpError', () => {
  it('puts rate limiting, viewers and validation in words', () => {
    expect(describeHttpError(429, { error: { code: 'rate_limited', message: 'x' } }).message).toMatch(/rate limited/i);
    expect(describeHttpError(403, { error: { code: 'forbidden', message: 'viewers cannot save versions' } }).message).toBe('Not allowed: viewers cannot save versions');
    const invalid = describeHttpError(400, { error: { code: 'invalid_body', message: 'bad', issues: [{ path: 'name', message: 'name is required' }] } });
    expect(invalid).toEqual({ code: 'invalid_body', message: 'That was not accepted: name: name is required.' });
    expect(describeHttpError(404, null).message).toMatch(/does not exist/);
    expect(describeHttpError(503, null).code).toBe('http_503');
    expect(describeHttpError(502, null).message).toBe(UNREACHABLE_MESSAGE);
  });
});

describe('ApiClient', () => {
  it('sends JSON with the bearer token and parses the answer', async () => {
    const calls: Array<{ url: string; init?: RequestInit }> = [];
    const client = new ApiClient('', fakeFetch(200, { versions: [{ id: 'a', name: 'old', createdAt: '2024-01-01T00:00:00Z', createdBy: 'm' }, { id: 'b', name: 'new', createdAt: '2024-02-01T00:00:00Z', createdBy: 'm' }] }, calls));
    const versions = await client.listVersions('room_12345', 'tok');
    expect(versions.map((v) => v.id)).toEqual(['b', 'a']);
    expect(calls[0]!.url).toBe('/api/rooms/room_12345/versions');
    expect((calls[0]!.init!.headers as Record<string, string>).Authorization).toBe('Bearer tok');
  });

  it('posts bodies as JSON and unwraps { settings }', async () => {
    const calls: Array<{ url: string; init?: RequestInit }> = [];
    const settings = { aiMode: 'limited', aiUsesPerMember: 3, autoMode: false, autoPauseSec: 8, moderation: true };
    const client = new ApiClient('', fakeFetch(200, { settings }, calls));
    expect(await client.updateSettings('room_12345', 't', { aiMode: 'limited' })).toEqual(settings);
    expect(calls[0]!.init!.method).toBe('PATCH');
    expect(calls[0]!.init!.body).toBe('{"aiMode":"limited"}');
  });

  it('restores with the version path', async () => {
    const calls: Array<{ url: string; init?: RequestInit }> = [];
    await new ApiClient('', fakeFetch(200, { version: {} }, calls)).restoreVersion('room_12345', 't', 'v1');
    expect(calls[0]!.url).toBe('/api/rooms/room_12345/versions/v1/restore');
  });

  it('previews, renames and deletes on the version path', async () => {
    const calls: Array<{ url: string; init?: RequestInit }> = [];
    const version = { id: 'v 1', name: 'New', kind: 'manual', createdAt: '2024-01-01T00:00:00Z', createdBy: 'm' };
    await new ApiClient('', fakeFetch(200, { version, paragraphs: [], diff: [], changed: false }, calls)).previewVersion('room_12345', 't', 'v 1');
    expect(await new ApiClient('', fakeFetch(200, { version }, calls)).renameVersion('room_12345', 't', 'v 1', 'New')).toEqual(version);
    expect(await new ApiClient('', fakeFetch(200, { deleted: version }, calls)).deleteVersion('room_12345', 't', 'v 1')).toEqual(version);
    expect(calls.map((c) => [c.init?.method, c.url])).toEqual([
      ['GET', '/api/rooms/room_12345/versions/v%201/preview'],
      ['PATCH', '/api/rooms/room_12345/versions/v%201'],
      ['DELETE', '/api/rooms/room_12345/versions/v%201'],
    ]);
    expect(calls[1]!.init!.body).toBe('{"name":"New"}');
  });

  it('turns failures into ApiRequestError with words', async () => {
    const client = new ApiClient('', fakeFetch(429, { error: { code: 'rate_limited', message: 'slow down' } }));
    const err = await client.joinRoom({ joinCode: 'ABCDEF', displayName: 'Ann' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiRequestError);
    expect((err as ApiRequestError).status).toBe(429);
    expect((err as ApiRequestError).message).toMatch(/rate limited/);
  });

  it('reports an unreachable server', async () => {
    const client = new ApiClient('', async () => {
      throw new TypeError('fetch failed');
    });
    await expect(client.createRoom({ name: 'x', kind: 'classroom' })).rejects.toMatchObject({ message: UNREACHABLE_MESSAGE, code: 'unreachable' });
  });

  it('tolerates a non-JSON error body', async () => {
    const client = new ApiClient('', async () => new Response('<html>bad gateway</html>', { status: 502 }));
    await expect(client.getRoom('room_12345', 't')).rejects.toMatchObject({ status: 502 });
  });
});

describe('provenanceRows', () => {
  const report: ProvenanceReport = {
    roomId: 'r',
    totalChars: 200,
    authors: [
      { memberId: 'ann', displayName: 'Ann', kind: 'human', clientIds: [1], chars: 60 },
      { memberId: 'bob', displayName: 'Bob', kind: 'human', clientIds: [2], chars: 90 },
      { memberId: 'ensemble-agent', displayName: 'Ensemble AI', kind: 'agent', clientIds: [3], chars: 50 },
    ],
    ai: {
      markedChars: 50,
      acceptedBy: [{ memberId: 'ann', displayName: 'Ann', chars: 40, proposals: 2 }],
      proposals: [],
      edited: { humanCharsInside: 5, agentCharsDeleted: 0, agentCharsUnmarked: 0, byMember: [{ memberId: 'bob', displayName: 'Bob', charsInside: 5 }] },
    },
    requests: [
      { memberId: 'ann', displayName: 'Ann', text: 3, image: 1, accepted: 2 },
      { memberId: 'cy', displayName: 'Cy', text: 1, image: 0, accepted: 0 },
    ],
  };

  it('gives each student their share and AI share, humans first, agent last', () => {
    const rows = provenanceRows(report);
    expect(rows.map((r) => r.memberId)).toEqual(['bob', 'ann', 'cy', 'ensemble-agent']);
    const ann = rows.find((r) => r.memberId === 'ann')!;
    expect(ann.share).toBeCloseTo(0.3);
    expect(ann.aiAccepted).toBe(40);
    expect(ann.aiShare).toBeCloseTo(40 / 100);
    expect(ann.requests).toEqual({ text: 3, image: 1, accepted: 2 });
    expect(rows.find((r) => r.memberId === 'bob')!.aiEdited).toBe(5);
    expect(rows.find((r) => r.memberId === 'cy')!.chars).toBe(0);
  });
});
