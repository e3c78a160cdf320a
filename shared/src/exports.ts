import type { Role, RoomKind } from './rooms';

/** What `GET /api/rooms/:id/export/:format` offers: the story, the storyboard, the classroom report. */
export const EXPORT_FORMATS = ['story.md', 'story.html', 'story.docx', 'storyboard.pdf', 'provenance.csv', 'provenance.pdf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Words for each download, as the export menu lists them. */
export const EXPORT_LABELS: Record<ExportFormat, string> = {
  'story.md': 'Story as Markdown (.md)',
  'story.html': 'Story as web page (.html)',
  'story.docx': 'Story as Word document (.docx)',
  'storyboard.pdf': 'Storyboard contact sheet (.pdf)',
  'provenance.csv': 'Who wrote what, spreadsheet (.csv)',
  'provenance.pdf': 'Who wrote what, report (.pdf)',
};

/** The provenance report grades students: only a classroom's teacher (its owner) may download it. */
export function mayExportProvenance(kind: RoomKind, role: Role): boolean {
  return kind === 'classroom' && role === 'owner';
}

/**
 * The downloads worth offering a member: the story always; the storyboard sheet when the room has
 * a storyboard (a storyboard room, or panels in any room); the provenance report to the teacher.
 */
export function exportFormatsFor(options: { kind: RoomKind; role: Role; hasStoryboard: boolean }): ExportFormat[] {
  return EXPORT_FORMATS.filter((format) => {
    if (format === 'storyboard.pdf') return options.hasStoryboard || options.kind === 'storyboard';
    if (format.startsWith('provenance.')) return mayExportProvenance(options.kind, options.role);
    return true;
  });
}
