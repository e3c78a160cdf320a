import type { ApiError, RoomKind, RoomResponse } from '../../shared/src/index';

export interface ApiResult<T> {
  status: number;
  body: T;
}

/** fetch + JSON; never throws on HTTP errors (check `status`). */
export async function api<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; rawBody?: string } = {},
): Promise<ApiResult<T>> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined || options.rawBody !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(baseUrl + path, {
    method,
    headers,
    body: options.rawBody ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: body as T };
}

function expectOk<T>(result: ApiResult<T | ApiError>, what: string): T {
  if (result.status >= 300) throw new Error(`${what} failed: ${result.status} ${JSON.stringify(result.body)}`);
  return result.body as T;
}

/** POST /api/rooms; the response's token is the owner's. */
export async function createRoom(baseUrl: string, options: { name?: string; kind?: RoomKind; displayName?: string } = {}): Promise<RoomResponse> {
  const body = { name: options.name ?? 'Test room', kind: options.kind ?? 'writers-room', displayName: options.displayName ?? 'Owner' };
  return expectOk(await api<RoomResponse>(baseUrl, 'POST', '/api/rooms', { body }), 'create room');
}

/** POST /api/rooms/join. */
export async function joinRoom(baseUrl: string, joinCode: string, displayName: string, role?: 'editor' | 'viewer'): Promise<RoomResponse> {
  return expectOk(await api<RoomResponse>(baseUrl, 'POST', '/api/rooms/join', { body: { joinCode, displayName, role } }), 'join room');
}
