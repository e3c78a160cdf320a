import { z } from 'zod';

/** Named versions of a room's story: REST under /api/rooms/:id/versions (server/src/versions/routes.ts). */

const VersionName = z.string().trim().min(1, 'name must not be empty').max(120, 'name must be at most 120 characters');

/** `POST /api/rooms/:id/versions` (editors): saves the current document under `name`. */
export const SaveVersionBody = z.object({ name: VersionName });
export type SaveVersionBody = z.infer<typeof SaveVersionBody>;

/** `PATCH /api/rooms/:id/versions/:versionId` (editors): renames a version. */
export const RenameVersionBody = z.object({ name: VersionName });
export type RenameVersionBody = z.infer<typeof RenameVersionBody>;

/**
 * 'manual': saved by a member. 'auto': taken by the server, on the snapshot schedule
 * (ENSEMBLE_SNAPSHOT_INTERVAL_MS) or right before a restore.
 */
export type VersionKind = 'manual' | 'auto';

export interface VersionInfo {
  id: string;
  name: string;
  kind: VersionKind;
  createdAt: string;
  /** Member id; for automatic versions the member whose restore caused it, or 'server' for scheduled ones. */
  createdBy: string;
}

/**
 * One run of a word-level diff: 'equal' text is in both, 'insert' only in the version (a restore
 * brings it back), 'delete' only in the current document (a restore removes it). Paragraph breaks
 * are '\n' inside the runs' text.
 */
export interface DiffPart {
  op: 'equal' | 'insert' | 'delete';
  text: string;
}

/**
 * `GET /api/rooms/:id/versions/:versionId/preview` (any member): the version's story as
 * paragraphs of plain text, and what restoring it would change in the current story.
 */
export interface VersionPreviewResponse {
  version: VersionInfo;
  paragraphs: string[];
  /** From the current story to the version's. */
  diff: DiffPart[];
  /** False when the version's story equals the current one. */
  changed: boolean;
}

/** `DELETE /api/rooms/:id/versions/:versionId` (editors). */
export interface DeleteVersionResponse {
  deleted: VersionInfo;
}

/** `createdBy` of the versions the schedule takes (no member made them). */
export const SERVER_VERSION_AUTHOR = 'server';

/** Names of the versions the server takes by itself. */
export const AUTO_VERSION_NAMES = {
  scheduled: 'Automatic snapshot',
  beforeRestore: (restoredName: string) => `Before restore of ${restoredName}`.slice(0, 120),
} as const;
