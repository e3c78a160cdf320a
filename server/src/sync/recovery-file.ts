import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DocumentLog } from '../storage/store';
import { withRetry } from '../storage/retry';

/**
 * Recovery files: where a shutdown puts the document updates the store did not accept within the
 * grace period, so that they are not lost; the next start appends them to the store before
 * serving. Always local (`<ENSEMBLE_DATA_DIR>/recovery/`), whatever the store, because the store
 * is exactly what failed.
 *
 * One file per failed shutdown, `<ISO time>-<pid>.json`:
 *
 *   {"format":"ensemble-recovery/1","writtenAt":"…","pid":123,
 *    "rooms":[{"roomId":"…","updates":["<base64 Yjs update>", …]}, …]}
 *
 * JSON so an operator can read it with any tool; a single document, so a file that parses is
 * complete. It is written as `<name>.tmp`, fsynced, then renamed into place (and the directory
 * fsynced): a file with the final name is always whole. Replaying a file twice is harmless, since
 * applying a Yjs update again changes nothing.
 */

export const RECOVERY_DIR_NAME = 'recovery';
const FORMAT = 'ensemble-recovery/1';
const SUFFIX = '.json';
const TEMP_SUFFIX = '.tmp';

/** A room's updates that never reached the store. */
export interface UnflushedRoom {
  roomId: string;
  updates: Uint8Array[];
}

interface RecoveryFileContent {
  format: typeof FORMAT;
  writtenAt: string;
  pid: number;
  rooms: Array<{ roomId: string; updates: string[] }>;
}

export class RecoveryFileError extends Error {
  constructor(
    message: string,
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RecoveryFileError';
  }
}

export function recoveryDir(dataDir: string): string {
  return path.resolve(dataDir, RECOVERY_DIR_NAME);
}

/** Writes the rooms' updates durably to a new recovery file; returns its path. */
export async function writeRecoveryFile(dataDir: string, rooms: UnflushedRoom[]): Promise<string> {
  const dir = recoveryDir(dataDir);
  const writtenAt = new Date().toISOString();
  const file = path.join(dir, `${writtenAt.replace(/[:.]/g, '-')}-${process.pid}${SUFFIX}`);
  const content: RecoveryFileContent = {
    format: FORMAT,
    writtenAt,
    pid: process.pid,
    rooms: rooms.map((room) => ({ roomId: room.roomId, updates: room.updates.map((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64')) })),
  };
  const temp = file + TEMP_SUFFIX;
  try {
    await fs.mkdir(dir, { recursive: true });
    const handle = await fs.open(temp, 'wx');
    try {
      await handle.writeFile(JSON.stringify(content));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
    await syncDirectory(dir);
  } catch (err) {
    throw new RecoveryFileError(`could not write the recovery file ${file}: ${err instanceof Error ? err.message : String(err)}`, file, { cause: err });
  }
  return file;
}

/** Reads and checks one recovery file; throws RecoveryFileError when it is unreadable. */
export async function readRecoveryFile(file: string): Promise<UnflushedRoom[]> {
  let content: RecoveryFileContent;
  try {
    content = JSON.parse(await fs.readFile(file, 'utf8')) as RecoveryFileContent;
  } catch (err) {
    throw new RecoveryFileError(`recovery file ${file} is unreadable: ${err instanceof Error ? err.message : String(err)}`, file, { cause: err });
  }
  const valid =
    content?.format === FORMAT &&
    Array.isArray(content.rooms) &&
    content.rooms.every((r) => typeof r?.roomId === 'string' && r.roomId.length > 0 && Array.isArray(r.updates) && r.updates.every((u) => typeof u === 'string'));
  if (!valid) throw new RecoveryFileError(`recovery file ${file} is not in the ${FORMAT} format`, file);
  return content.rooms.map((r) => ({ roomId: r.roomId, updates: r.updates.map((u) => new Uint8Array(Buffer.from(u, 'base64'))) }));
}

export interface ReplayedFile {
  file: string;
  rooms: string[];
}

/**
 * Startup, before serving: appends every recovery file's updates to the store (each room as one
 * batch, through the normal append path) and deletes a file only once the store took all of it.
 * Throws RecoveryFileError, leaving the file in place, when the store still fails or a file is
 * unreadable: starting without those updates would serve rooms that silently lack them.
 * A leftover `.tmp` (a shutdown killed while writing) is replayed when it is complete, else kept
 * and reported.
 */
export async function replayRecoveryFiles(dataDir: string, store: Pick<DocumentLog, 'appendUpdates'>, logger: Logger): Promise<ReplayedFile[]> {
  const dir = recoveryDir(dataDir);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new RecoveryFileError(`cannot read the recovery directory ${dir}: ${(err as Error).message}`, dir, { cause: err });
  }
  const replayed: ReplayedFile[] = [];
  // Oldest first (names start with the time), though order does not matter to Yjs.
  for (const name of names.filter((n) => n.endsWith(SUFFIX) || n.endsWith(SUFFIX + TEMP_SUFFIX)).sort()) {
    const file = path.join(dir, name);
    let rooms: UnflushedRoom[];
    try {
      rooms = await readRecoveryFile(file);
    } catch (err) {
      if (!name.endsWith(TEMP_SUFFIX)) throw err;
      logger.error({ err, file }, 'ignoring an incomplete recovery file (its shutdown was killed while writing it); left in place');
      continue;
    }
    for (const room of rooms) {
      try {
        await withRetry(() => store.appendUpdates(room.roomId, room.updates), {
          attempts: 3,
          onRetry: (err, attempt) => logger.warn({ err, roomId: room.roomId, file, attempt }, 'replaying recovery file: append failed; retrying'),
        });
      } catch (err) {
        throw new RecoveryFileError(
          `the store did not accept the updates of room ${room.roomId} from recovery file ${file}: ${err instanceof Error ? err.message : String(err)}`,
          file,
          { cause: err },
        );
      }
    }
    await fs.unlink(file);
    await syncDirectory(dir);
    const roomIds = rooms.map((r) => r.roomId);
    logger.warn({ file, rooms: roomIds }, 'recovery file replayed into the store and deleted');
    replayed.push({ file, rooms: roomIds });
  }
  return replayed;
}

/** Makes a rename or unlink in `dir` durable; skipped where directories cannot be fsynced. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw err;
  } finally {
    await handle?.close();
  }
}
