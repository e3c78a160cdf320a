/**
 * y-websocket endpoint: `ws://HOST:PORT/sync/<roomId>?token=<token>` (or `/sync/<roomId>/draft/<memberId>`,
 * a student's draft: see drafts.ts), so a stock
 * `new WebsocketProvider(`ws://HOST:PORT${SYNC_PATH}`, roomId, doc, { params: { token } })` works.
 */
export const SYNC_PATH = '/sync';

/**
 * WebSocket close codes the sync endpoint uses (4000-4999 are free for applications). The /collab
 * channel sends the same codes in `collab:closed` before it disconnects a socket. A client that
 * stops reading (more than ENSEMBLE_MAX_BUFFERED_BYTES waiting to be sent to it) gets no code: a
 * close frame could never reach it, so its socket is terminated and it sees 1006. A missing or
 * bad token, another room's token or an unknown room is refused at the upgrade, with HTTP
 * 401/403/404, before there is a websocket to close.
 */
export const CLOSE_CODES = {
  /** Frame could not be decoded as a y-websocket message. */
  malformedMessage: 4400,
  /** The room's owner removed this member; their token is refused from now on. */
  memberRemoved: 4410,
  /** The token expired while connected; join again (or re-authenticate) to continue. */
  tokenExpired: 4440,
  /** Frame larger than ENSEMBLE_MAX_MESSAGE_BYTES. */
  messageTooBig: 1009,
  /** The server is shutting down. */
  goingAway: 1001,
  /** Document could not be loaded from storage. */
  loadFailed: 4500,
  /**
   * An update failed validation (nesting too deep, forged attribution, writes as another client…).
   * In 4400–4499, which y-websocket treats as permanent: the client does not reconnect and resend it.
   */
  updateRejected: 4422,
  /**
   * Reconnect and resync (4500–4599: y-websocket reconnects): the room was reloaded from storage
   * after a failed update, or this connection's updates keep depending on data the server lacks.
   */
  resync: 4509,
  /** Sustained awareness abuse: updates or query-awareness over the per-connection rate, or states
   * that are repeatedly oversized, invalid or for client ids that are not the connection's own.
   * (A single such frame is only dropped.) */
  awarenessAbuse: 4429,
  /**
   * A student's draft (assignment mode, `<roomId>/draft/<memberId>`) opened by someone other than
   * that student or the teacher, or by the student while assignment mode is off. Sent right after
   * the upgrade (a websocket close, not an HTTP refusal, so the client can say why); permanent.
   */
  draftForbidden: 4403,
} as const;
