import { provenanceRows, type ProvenanceReport } from '@ensemble/shared';
import { renderPdf } from './pdf';

const MARGIN = 40;
const COLUMNS: Array<{ title: string; width: number; align: 'left' | 'right' }> = [
  { title: 'Name', width: 130, align: 'left' },
  { title: 'Kind', width: 50, align: 'left' },
  { title: 'Characters', width: 62, align: 'right' },
  { title: 'Share', width: 45, align: 'right' },
  { title: 'AI accepted', width: 62, align: 'right' },
  { title: 'AI share', width: 48, align: 'right' },
  { title: 'Typed in AI', width: 60, align: 'right' },
  { title: 'Requests', width: 58, align: 'right' },
];

/**
 * The classroom provenance report as a one-table PDF (A4 portrait): story totals, then one row per
 * author with characters, shares, AI text accepted and edited, and requests (text/image/accepted).
 */
export function provenancePdf(title: string, report: ProvenanceReport, generatedAt: Date): Promise<Buffer> {
  return renderPdf({ size: 'A4', margin: MARGIN, info: { Title: `${title} — provenance report` } }, (doc) => {
    const rows = provenanceRows(report);
    const pct = (x: number) => `${Math.round(x * 100)}%`;
    doc.font('Helvetica-Bold').fontSize(16).fillColor('#111').text(`${title} — who wrote what`, MARGIN, MARGIN);
    doc
      .moveDown(0.3)
      .font('Helvetica')
      .fontSize(9)
      .fillColor('#555')
      .text(
        `Generated ${generatedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC · ${report.totalChars} characters in the story · ` +
          `AI-written ${report.totalChars > 0 ? pct(report.ai.markedChars / report.totalChars) : '0%'} (${report.ai.markedChars} characters)`,
      );
    let y = doc.y + 14;
    const row = (cells: string[], bold: boolean) => {
      let x = MARGIN;
      doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(9).fillColor('#111');
      cells.forEach((cell, i) => {
        const col = COLUMNS[i]!;
        doc.text(cell, x + 2, y, { width: col.width - 4, align: col.align, lineBreak: false, ellipsis: true });
        x += col.width;
      });
      y += 16;
      doc.save().moveTo(MARGIN, y - 4).lineTo(x, y - 4).lineWidth(0.5).strokeColor(bold ? '#888' : '#ddd').stroke().restore();
    };
    row(COLUMNS.map((c) => c.title), true);
    for (const r of rows) {
      if (y > doc.page.height - MARGIN - 20) {
        doc.addPage();
        y = MARGIN;
        row(COLUMNS.map((c) => c.title), true);
      }
      row(
        [r.displayName, r.kind, String(r.chars), pct(r.share), String(r.aiAccepted), pct(r.aiShare), String(r.aiEdited), `${r.requests.text}/${r.requests.image}/${r.requests.accepted}`],
        false,
      );
    }
    if (rows.length === 0) doc.font('Helvetica').fontSize(10).text('Nobody has written anything yet.', MARGIN, y + 4);
    doc
      .font('Helvetica')
      .fontSize(8)
      .fillColor('#555')
      .text('Requests: text / image / accepted. "AI share" is the AI part of the text a member brought in (own writing plus AI text they accepted).', MARGIN, Math.min(y + 20, doc.page.height - MARGIN - 24), {
        width: doc.page.width - 2 * MARGIN,
      });
  });
}
