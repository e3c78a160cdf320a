import type { Logger } from 'pino';
import { AUTO_VERSION_NAMES, SERVER_VERSION_AUTHOR } from '@ensemble/shared';
import type { DocumentChanges } from './document-changes';
import type { VersionService } from './version-service';

/**
 * Every `intervalMs`, an automatic version of each room whose document changed since its last
 * version (ENSEMBLE_SNAPSHOT_INTERVAL_MS; 0 turns the schedule off). Rooms are saved one after
 * another; a round that is still running when the next is due makes that one skip.
 */
export class AutoSnapshots {
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;

  constructor(
    private readonly changes: Pick<DocumentChanges, 'rooms'>,
    private readonly versions: Pick<VersionService, 'snapshot'>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.round ??= this.snapshotChangedRooms().finally(() => (this.round = null));
    }, this.intervalMs);
    // The schedule alone never keeps the process alive.
    this.timer.unref();
  }

  /** Stops the schedule and waits for a round in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.round;
  }

  /** One round: a version of every changed room. A room that fails stays changed and is tried next round. */
  async snapshotChangedRooms(): Promise<void> {
    for (const roomId of this.changes.rooms()) {
      try {
        await this.versions.snapshot(roomId, { name: AUTO_VERSION_NAMES.scheduled, kind: 'auto', createdBy: SERVER_VERSION_AUTHOR });
        this.logger.debug({ roomId }, 'automatic snapshot saved');
      } catch (err) {
        this.logger.warn({ err, roomId }, 'automatic snapshot failed; retrying next round');
      }
    }
  }
}
