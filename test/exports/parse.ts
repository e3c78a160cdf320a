import JSZip from 'jszip';
import { PDFParse } from 'pdf-parse';

/** word/document.xml of a DOCX and its text (the <w:t> runs joined, paragraphs on lines). */
export async function parseDocx(data: Uint8Array): Promise<{ xml: string; text: string }> {
  const zip = await JSZip.loadAsync(data);
  const file = zip.file('word/document.xml');
  if (!file) throw new Error('not a DOCX: no word/document.xml');
  const xml = await file.async('string');
  const text = xml
    .split(/<\/w:p>/)
    .map((p) => [...p.matchAll(/<w:t(?:\s[^>]*)?>([^<]*)<\/w:t>/g)].map((m) => unescapeXml(m[1]!)).join(''))
    .join('\n');
  return { xml, text };
}

/** The text of a PDF (pdf.js through pdf-parse), pages joined, and how many images it draws. */
export async function parsePdf(data: Uint8Array, options: { images?: boolean } = {}): Promise<{ text: string; pages: number; images: number }> {
  const parser = new PDFParse({ data: new Uint8Array(data) });
  try {
    const result = await parser.getText();
    let images = 0;
    if (options.images) {
      const found = await parser.getImage({ imageThreshold: 1, imageBuffer: false, imageDataUrl: false });
      images = found.pages.reduce((n, p) => n + p.images.length, 0);
    }
    return { text: result.text, pages: result.total, images };
  } finally {
    await parser.destroy();
  }
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
