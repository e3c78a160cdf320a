/** setTimeout's largest delay; longer waits are done in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Calls `onExpired` once `expiresAt` (ms since the epoch) has passed, so a socket never outlives
 * the token it was opened with. Returns a cancel function; call it when the socket closes.
 */
export function whenExpired(expiresAt: number, onExpired: () => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  const arm = (): void => {
    const left = expiresAt - Date.now();
    if (left <= 0) {
      timer = null;
      onExpired();
      return;
    }
    timer = setTimeout(arm, Math.min(left, MAX_DELAY_MS));
    timer.unref();
  };
  arm();
  return () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
}
