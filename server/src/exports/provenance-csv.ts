import { provenanceRows, type ProvenanceReport } from '@ensemble/shared';

export const PROVENANCE_COLUMNS = [
  'name',
  'kind',
  'characters',
  'share_of_story',
  'ai_characters_accepted',
  'ai_share_of_own_text',
  'characters_typed_inside_ai_text',
  'text_requests',
  'image_requests',
  'accepted_requests',
] as const;

/**
 * The classroom's "who wrote what" table as RFC 4180 CSV (CRLF, quoted where needed), one row per
 * author — the same rows as the dashboard — shares as fractions with 4 decimals. A leading BOM
 * lets spreadsheet programs read the names as UTF-8.
 */
export function provenanceCsv(report: ProvenanceReport): string {
  const lines = [PROVENANCE_COLUMNS.join(',')];
  for (const r of provenanceRows(report)) {
    lines.push(
      [r.displayName, r.kind, r.chars, r.share.toFixed(4), r.aiAccepted, r.aiShare.toFixed(4), r.aiEdited, r.requests.text, r.requests.image, r.requests.accepted]
        .map(csvField)
        .join(','),
    );
  }
  return '\ufeff' + lines.join('\r\n') + '\r\n';
}

/** Quotes a field with a comma, quote or line break; defuses a leading = + - @ (spreadsheet formulas). */
function csvField(value: string | number): string {
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
