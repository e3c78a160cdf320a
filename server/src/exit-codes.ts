/**
 * Exit codes of `server/src/main.ts`, so supervisors and operators can tell a clean stop from one
 * that left work behind (README lists them).
 */
export const EXIT_CODES = {
  /** Shut down and every update reached the store. */
  ok: 0,
  /** Unexpected failure while starting or stopping. */
  failed: 1,
  /** Invalid configuration. */
  badConfig: 2,
  /** Shut down, but some updates did not reach the store: they are in a recovery file, replayed at the next start. */
  savedToRecoveryFile: 3,
  /** Shut down, some updates did not reach the store and the recovery file could not be written: they are lost. */
  updatesLost: 4,
  /** Refused to start: a recovery file could not be replayed into the store (it is kept). */
  recoveryReplayFailed: 5,
} as const;
