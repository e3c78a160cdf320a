import type { Ack, AgentState, ErrorCode, ProposalMode, ProposalStatus } from '@ensemble/shared';

/** Words for an acknowledgement error code from the collab channel. */
export function describeAckError(error: { code: ErrorCode | string; message?: string } | undefined): string {
  if (!error) return 'Something went wrong.';
  const detail = error.message?.trim();
  const base: Record<string, string> = {
    invalid_payload: 'The request was not valid',
    forbidden: 'You are not allowed to do that (viewers can watch but not write, ask, vote or accept)',
    not_found: 'That proposal or item no longer exists',
    rate_limited: 'You are being rate limited — wait a few seconds and try again',
    busy: 'The AI is busy with other requests in this room — try again shortly',
    ai_disabled: 'The AI is turned off in this room',
    quota_exhausted: 'You have used all your AI requests in this room',
    anchor_deleted: 'The text this proposal was anchored to has been deleted, so it cannot be inserted',
    conflict: 'That conflicts with something that just happened',
    internal: 'The server had a problem',
    timeout: 'The server did not answer in time',
    disconnected: 'Not connected to the AI channel',
    offline: OFFLINE_AI_MESSAGE.replace(/\.$/, ''),
  };
  const head = base[error.code] ?? `Error (${error.code})`;
  return detail && !head.toLowerCase().includes(detail.toLowerCase()) ? `${head}: ${detail}` : `${head}.`;
}

/** Unwraps an ack, throwing an Error carrying the human message. */
export function unwrapAck<T>(res: Ack<T>): T {
  if (res.ok) return res as T;
  const err = new Error(describeAckError(res.error)) as Error & { code?: string };
  err.code = res.error.code;
  throw err;
}

export const MODE_LABELS: Record<ProposalMode, string> = {
  continue: 'Continue',
  rewrite: 'Rewrite',
  describe: 'Describe',
  brainstorm: 'Brainstorm',
};

export function agentStateLabel(state: AgentState | undefined): string {
  switch (state) {
    case 'thinking':
      return 'thinking…';
    case 'writing':
      return 'writing…';
    default:
      return 'idle';
  }
}

export function statusLabel(status: ProposalStatus): string {
  return {
    streaming: 'streaming',
    ready: 'ready',
    accepted: 'accepted',
    rejected: 'rejected',
    stopped: 'stopped',
    failed: 'failed',
    reverted: 'undone',
  }[status];
}

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'refused';

/** What an AI action says while this tab has no connection: the line is down, not the server. */
export const OFFLINE_AI_MESSAGE = 'You are offline — the AI needs a connection. Your edits are kept on this device and will sync.';

/** A one-line honest connection status for the header. */
export function connectionLabel(state: ConnectionState, synced: boolean, hasPendingLocalEdits: boolean): string {
  switch (state) {
    case 'connected':
      // "saved" only once the server has answered for every local edit.
      if (!synced) return 'Connected · syncing…';
      return hasPendingLocalEdits ? 'Connected · saving…' : 'Connected · saved';
    case 'connecting':
      return hasPendingLocalEdits ? 'Reconnecting… your edits are kept on this device and will sync' : 'Connecting…';
    case 'disconnected':
      return hasPendingLocalEdits ? 'Offline — your edits are kept on this device and will sync' : 'Offline — your changes are kept on this device and will sync';
    case 'refused':
      return 'Disconnected by the server';
  }
}

/** Words for a sync close code (see CLOSE_CODES in @ensemble/shared). */
export function describeCloseCode(code: number, reason = ''): string {
  switch (code) {
    case 4401:
      return 'Your session is no longer valid (expired or signed out). Join the room again.';
    case 4403: // CLOSE_CODES.draftForbidden
      return `This draft cannot be opened: ${reason || 'only its student and the teacher may open it, while assignment mode is on'}.`;
    case 4404:
      return 'This room does not exist anymore.';
    case 4410:
      return 'The owner removed you from this room.';
    case 4440:
      return 'Your session expired. Join the room again to keep working.';
    case 4400:
      return 'The server could not read a message from this tab and closed the connection.';
    case 1009:
      return 'A change was too large to send.';
    case 4422:
      return 'The server refused a change from this tab (it breaks the room’s limits, e.g. nesting too deep), so this tab stopped syncing. Copy anything you still need, then reload.';
    case 4429:
      return 'This tab sent presence updates too fast and was disconnected. Reload to rejoin.';
    case 4509:
      return 'The room was reloaded on the server. Reconnecting…';
    case 4500:
      return 'The server could not load the document. It will retry.';
    case 1001:
      return 'The server is restarting. Reconnecting…';
    default:
      return reason ? `Connection closed: ${reason}` : `Connection closed (${code}).`;
  }
}

export function formatTime(iso: string, now = new Date()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const sameDay = date.toDateString() === now.toDateString();
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return sameDay ? time : `${date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${time}`;
}

export function percent(part: number, whole: number): string {
  if (whole <= 0) return '0%';
  return `${Math.round((part / whole) * 100)}%`;
}

/** Truncates on a word boundary with an ellipsis. */
export function excerpt(text: string, max = 140): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  const cut = clean.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length >= 2 ? [parts[0]![0], parts[parts.length - 1]![0]] : [parts[0]?.[0], parts[0]?.[1]];
  return letters.filter(Boolean).join('').toUpperCase() || '?';
}
