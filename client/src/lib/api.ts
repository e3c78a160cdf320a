import type {
  ApiError,
  ExportFormat,
  CreateRoomBody,
  JoinRoomBody,
  Member,
  MemberListResponse,
  ProvenanceReport,
  RemoveMemberResponse,
  RotateJoinCodeResponse,
  Room,
  RoomResponse,
  RoomSettings,
  DeleteVersionResponse,
  UpdateRoomSettingsBody,
  VersionInfo,
  VersionPreviewResponse,
} from '@ensemble/shared';

/** A failed REST call, with a message meant for the person using the app. */
export class ApiRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export const UNREACHABLE_MESSAGE = 'The server cannot be reached. Check your connection; we keep trying.';

/** Turns an HTTP status and the server's error body into words. */
export function describeHttpError(status: number, body: unknown): { code: string; message: string } {
  const err = (body as Partial<ApiError> | null)?.error;
  const code = typeof err?.code === 'string' ? err.code : `http_${status}`;
  const serverMessage = typeof err?.message === 'string' ? err.message : '';
  const issues = Array.isArray(err?.issues) ? err.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ') : '';
  switch (status) {
    case 400:
      return { code, message: `That was not accepted: ${issues || serverMessage || 'invalid input'}.` };
    case 401:
      return { code, message: 'Your session has expired or is not valid. Join the room again.' };
    case 403:
      return { code, message: serverMessage ? `Not allowed: ${serverMessage}` : 'You are not allowed to do that in this room.' };
    case 404:
      return { code, message: serverMessage ? `Not found: ${serverMessage}` : 'That room or item does not exist (check the join code).' };
    case 409:
      return { code, message: serverMessage || 'That conflicts with a change someone else just made. Try again.' };
    case 429:
      return { code, message: 'Too many requests — you are being rate limited. Wait a moment and try again.' };
    case 502:
    case 504:
      return { code, message: UNREACHABLE_MESSAGE };
    default:
      if (status >= 500) return { code, message: `The server had a problem (${status}). ${serverMessage}`.trim() };
      return { code, message: serverMessage || `Request failed (${status}).` };
  }
}

/** The filename of `Content-Disposition: attachment; filename="…"`, or null when there is none. */
export function attachmentFilename(disposition: string | null): string | null {
  const match = disposition?.match(/filename="([^"\\/]+)"/);
  return match ? match[1]! : null;
}

// The rows live in shared/src so the server's CSV/PDF report exports use the same numbers.
export { provenanceRows, type ProvenanceRow } from '@ensemble/shared';

/** Thin typed client for the rooms REST API. */
export class ApiClient {
  constructor(
    private readonly base = '',
    private readonly fetchImpl: FetchLike = (input, init) => fetch(input, init),
  ) {}

  async request<T>(method: string, path: string, options: { token?: string | undefined; body?: unknown } = {}): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.base}${path}`, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
    } catch {
      throw new ApiRequestError(UNREACHABLE_MESSAGE, 0, 'unreachable');
    }
    const text = await res.text();
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    if (!res.ok) {
      const { code, message } = describeHttpError(res.status, parsed);
      throw new ApiRequestError(message, res.status, code);
    }
    return parsed as T;
  }

  createRoom(body: CreateRoomBody): Promise<RoomResponse> {
    return this.request('POST', '/api/rooms', { body });
  }

  joinRoom(body: JoinRoomBody): Promise<RoomResponse> {
    return this.request('POST', '/api/rooms/join', { body });
  }

  async getRoom(roomId: string, token: string): Promise<Room> {
    const res = await this.request<{ room: Room } | Room>('GET', `/api/rooms/${encodeURIComponent(roomId)}`, { token });
    return 'room' in res ? res.room : res;
  }

  async updateSettings(roomId: string, token: string, body: UpdateRoomSettingsBody): Promise<RoomSettings | undefined> {
    const res = await this.request<{ settings?: RoomSettings; room?: Room } | null>('PATCH', `/api/rooms/${encodeURIComponent(roomId)}/settings`, { token, body });
    return res?.settings ?? res?.room?.settings;
  }

  createJoinCode(roomId: string, token: string, role: 'editor' | 'viewer'): Promise<{ joinCode: string; role: 'editor' | 'viewer' }> {
    return this.request('POST', `/api/rooms/${encodeURIComponent(roomId)}/join-codes`, { token, body: { role } });
  }

  rotateJoinCode(roomId: string, token: string, role: 'editor' | 'viewer'): Promise<RotateJoinCodeResponse> {
    return this.request('POST', `/api/rooms/${encodeURIComponent(roomId)}/join-codes/rotate`, { token, body: { role } });
  }

  async listMembers(roomId: string, token: string): Promise<Member[]> {
    return (await this.request<MemberListResponse>('GET', `/api/rooms/${encodeURIComponent(roomId)}/members`, { token })).members;
  }

  async removeMember(roomId: string, token: string, memberId: string): Promise<Member> {
    const path = `/api/rooms/${encodeURIComponent(roomId)}/members/${encodeURIComponent(memberId)}`;
    return (await this.request<RemoveMemberResponse>('DELETE', path, { token })).removed;
  }

  async listVersions(roomId: string, token: string): Promise<VersionInfo[]> {
    const res = await this.request<{ versions: VersionInfo[] } | VersionInfo[]>('GET', `/api/rooms/${encodeURIComponent(roomId)}/versions`, { token });
    const list = Array.isArray(res) ? res : res.versions;
    return [...list].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  async saveVersion(roomId: string, token: string, name: string): Promise<VersionInfo | undefined> {
    const res = await this.request<{ version?: VersionInfo } | VersionInfo | null>('POST', `/api/rooms/${encodeURIComponent(roomId)}/versions`, { token, body: { name } });
    if (!res) return undefined;
    return 'version' in res ? res.version : (res as VersionInfo);
  }

  async restoreVersion(roomId: string, token: string, versionId: string): Promise<void> {
    await this.request('POST', `${versionPath(roomId, versionId)}/restore`, { token, body: {} });
  }

  /** The version's story and the diff from the current story to it. */
  previewVersion(roomId: string, token: string, versionId: string): Promise<VersionPreviewResponse> {
    return this.request('GET', `${versionPath(roomId, versionId)}/preview`, { token });
  }

  async renameVersion(roomId: string, token: string, versionId: string, name: string): Promise<VersionInfo> {
    return (await this.request<{ version: VersionInfo }>('PATCH', versionPath(roomId, versionId), { token, body: { name } })).version;
  }

  async deleteVersion(roomId: string, token: string, versionId: string): Promise<VersionInfo> {
    return (await this.request<DeleteVersionResponse>('DELETE', versionPath(roomId, versionId), { token })).deleted;
  }

  provenance(roomId: string, token: string): Promise<ProvenanceReport> {
    return this.request('GET', `/api/rooms/${encodeURIComponent(roomId)}/provenance`, { token });
  }

  /** Fetches an image with the token header; returns an object URL the caller must revoke. */
  async imageObjectUrl(url: string, token: string): Promise<string> {
    return URL.createObjectURL((await this.fetchFile(url, token)).blob);
  }

  /** One export of the room (a token header, so no plain link can fetch it) and its server-given filename. */
  exportFile(roomId: string, token: string, format: ExportFormat): Promise<{ blob: Blob; filename: string }> {
    return this.fetchFile(`/api/rooms/${encodeURIComponent(roomId)}/export/${format}`, token, format.replace('.', '-'));
  }

  private async fetchFile(url: string, token: string, fallbackName = 'download'): Promise<{ blob: Blob; filename: string }> {
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.base}${url}`, { headers: { Authorization: `Bearer ${token}` } });
    } catch {
      throw new ApiRequestError(UNREACHABLE_MESSAGE, 0, 'unreachable');
    }
    if (!res.ok) {
      let body: unknown = null;
      try {
        body = await res.json();
      } catch {
        body = null;
      }
      const { code, message } = describeHttpError(res.status, body);
      throw new ApiRequestError(message, res.status, code);
    }
    return { blob: await res.blob(), filename: attachmentFilename(res.headers.get('Content-Disposition')) ?? fallbackName };
  }
}

export const api = new ApiClient();

function versionPath(roomId: string, versionId: string): string {
  return `/api/rooms/${encodeURIComponent(roomId)}/versions/${encodeURIComponent(versionId)}`;
}
