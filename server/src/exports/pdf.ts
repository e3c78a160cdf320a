import PDFDocument from 'pdfkit';

/**
 * Draws a PDF with pdfkit and collects it into one Buffer. The built-in Helvetica is used (no font
 * files to ship); it covers Latin-1, so characters outside it print as pdfkit substitutes them.
 */
export function renderPdf(options: PDFKit.PDFDocumentOptions, draw: (doc: PDFKit.PDFDocument) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ ...options, info: { Creator: 'Ensemble', ...options.info } });
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    try {
      draw(doc);
      doc.end();
    } catch (err) {
      reject(err);
    }
  });
}
