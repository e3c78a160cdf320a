import type { PanelFields, ShotType } from '@ensemble/shared';
import { renderPdf } from './pdf';

export interface ContactSheetPanel extends PanelFields {
  /** The panel's stored image (PNG or JPEG bytes), null when it has none or it is gone. */
  image: Uint8Array | null;
}

export const SHOT_LABELS: Record<ShotType, string> = {
  wide: 'Wide',
  medium: 'Medium',
  'close-up': 'Close-up',
  'extreme-close-up': 'Extreme close-up',
  'over-the-shoulder': 'Over the shoulder',
  insert: 'Insert',
};

const COLUMNS = 3;
const ROWS = 2;
const MARGIN = 36;
const GAP = 18;
const HEADER = 40;

/**
 * The storyboard as a contact sheet: A4 landscape, 3 × 2 panels a page, each its image (fitted,
 * or a grey "No image" box), "#n · shot type · duration" and the caption under it; the header
 * names the room, the panel count and the total running time.
 */
export function storyboardPdf(title: string, panels: ContactSheetPanel[]): Promise<Buffer> {
  return renderPdf({ size: 'A4', layout: 'landscape', margin: MARGIN, info: { Title: `${title} — storyboard` } }, (doc) => {
    const total = panels.reduce((sum, p) => sum + (Number.isFinite(p.durationSec) ? p.durationSec : 0), 0);
    const pageWidth = doc.page.width;
    const pageHeight = doc.page.height;
    const cellW = (pageWidth - 2 * MARGIN - (COLUMNS - 1) * GAP) / COLUMNS;
    const cellH = (pageHeight - 2 * MARGIN - HEADER - (ROWS - 1) * GAP) / ROWS;
    const imageH = cellW * (9 / 16);
    const header = (page: number, pages: number) => {
      doc.font('Helvetica-Bold').fontSize(16).fillColor('#111').text(title, MARGIN, MARGIN, { width: pageWidth - 2 * MARGIN - 160, lineBreak: false, ellipsis: true });
      doc
        .font('Helvetica')
        .fontSize(9)
        .fillColor('#555')
        .text(`${panels.length} panel${panels.length === 1 ? '' : 's'} · ${formatSeconds(total)} · page ${page} of ${pages}`, pageWidth - MARGIN - 160, MARGIN + 4, { width: 160, align: 'right' });
    };
    const perPage = COLUMNS * ROWS;
    const pages = Math.max(1, Math.ceil(panels.length / perPage));
    header(1, pages);
    if (panels.length === 0) doc.font('Helvetica').fontSize(11).fillColor('#555').text('The storyboard has no panels yet.', MARGIN, MARGIN + HEADER);
    panels.forEach((panel, i) => {
      const slot = i % perPage;
      if (i > 0 && slot === 0) {
        doc.addPage();
        header(i / perPage + 1, pages);
      }
      const x = MARGIN + (slot % COLUMNS) * (cellW + GAP);
      const y = MARGIN + HEADER + Math.floor(slot / COLUMNS) * (cellH + GAP);
      drawImage(doc, panel.image, x, y, cellW, imageH);
      doc
        .font('Helvetica-Bold')
        .fontSize(10)
        .fillColor('#111')
        .text(`#${i + 1} · ${SHOT_LABELS[panel.shotType] ?? panel.shotType} · ${formatSeconds(panel.durationSec)}`, x, y + imageH + 6, { width: cellW, lineBreak: false });
      const captionTop = y + imageH + 22;
      doc
        .font('Helvetica')
        .fontSize(9)
        .fillColor('#222')
        .text(panel.caption || '(no caption)', x, captionTop, { width: cellW, height: Math.max(12, y + cellH - captionTop), ellipsis: true });
    });
  });
}

function drawImage(doc: PDFKit.PDFDocument, image: Uint8Array | null, x: number, y: number, w: number, h: number): void {
  doc.save().rect(x, y, w, h).fill('#eeeeee').restore();
  if (image) {
    try {
      doc.image(Buffer.from(image.buffer, image.byteOffset, image.byteLength), x, y, { fit: [w, h], align: 'center', valign: 'center' });
      return;
    } catch {
      // Not a PNG/JPEG pdfkit can read: the placeholder says so rather than failing the export.
    }
  }
  doc.font('Helvetica').fontSize(9).fillColor('#888').text(image ? 'Image unreadable' : 'No image', x, y + h / 2 - 5, { width: w, align: 'center' });
}

export function formatSeconds(sec: number): string {
  if (!Number.isFinite(sec)) return '0 s';
  const rounded = Math.round(sec * 10) / 10;
  if (rounded < 60) return `${rounded} s`;
  const m = Math.floor(rounded / 60);
  const s = Math.round((rounded - m * 60) * 10) / 10;
  return `${m} min ${s} s`;
}
