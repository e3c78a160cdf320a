import { AlignmentType, BorderStyle, Document, HeadingLevel, LevelFormat, Packer, Paragraph, ShadingType, TextRun, type IRunOptions } from 'docx';
import { hasAiText, type Block, type Run } from './story-model';

/** Light blue behind AI-written runs, the same colour as the HTML export. */
const AI_FILL = 'E8F0FE';
const HEADINGS = [HeadingLevel.HEADING_1, HeadingLevel.HEADING_2, HeadingLevel.HEADING_3, HeadingLevel.HEADING_4, HeadingLevel.HEADING_5, HeadingLevel.HEADING_6];
const ORDERED = 'story-ordered';

/**
 * The story as a Word document: headings as Word heading styles, bold/italic/strike runs, bullet
 * and numbered lists (Word numbering, one restart per list), quotes as indented paragraphs with a
 * left border, and AI-written runs shaded light blue, with a legend paragraph at the end.
 */
export async function storyDocx(title: string, blocks: Block[]): Promise<Buffer> {
  let lists = 0;
  const paragraphs: Paragraph[] = [new Paragraph({ heading: HeadingLevel.TITLE, children: [new TextRun(title)] })];
  const emit = (block: Block, ctx: { quote: boolean; listLevel: number; list?: { ordered: boolean; instance: number } }): void => {
    const common = {
      ...(ctx.quote ? { indent: { left: 720 }, border: { left: { style: BorderStyle.SINGLE, size: 12, color: 'C7C7CC', space: 8 } } } : {}),
      ...(ctx.list ? (ctx.list.ordered ? { numbering: { reference: ORDERED, level: ctx.listLevel, instance: ctx.list.instance } } : { bullet: { level: ctx.listLevel } }) : {}),
    };
    switch (block.type) {
      case 'paragraph':
        paragraphs.push(new Paragraph({ ...common, children: runs(block.runs, ctx.quote) }));
        return;
      case 'heading':
        paragraphs.push(new Paragraph({ ...common, heading: HEADINGS[Math.min(5, block.level)]!, children: runs(block.runs, false) }));
        return;
      case 'quote':
        for (const inner of block.blocks) emit(inner, { ...ctx, quote: true });
        return;
      case 'list': {
        const instance = ++lists;
        const level = ctx.list ? ctx.listLevel + 1 : 0;
        for (const item of block.items) {
          item.forEach((inner, i) => {
            // Only an item's first paragraph carries the number or bullet; the rest are indented under it.
            if (i === 0 || inner.type === 'list') emit(inner, { ...ctx, listLevel: level, list: { ordered: block.ordered, instance } });
            else emit(inner, { ...ctx, list: undefined });
          });
        }
        return;
      }
      case 'code':
        paragraphs.push(new Paragraph({ ...common, children: [new TextRun({ text: block.text, font: 'Courier New' })] }));
        return;
      case 'rule':
        paragraphs.push(new Paragraph({ border: { bottom: { style: BorderStyle.SINGLE, size: 6, color: 'AAAAAA', space: 1 } }, children: [] }));
        return;
    }
  };
  for (const block of blocks) emit(block, { quote: false, listLevel: 0 });
  if (hasAiText(blocks)) {
    paragraphs.push(
      new Paragraph({
        spacing: { before: 400 },
        children: [
          new TextRun({ text: 'Shaded text', shading: { type: ShadingType.CLEAR, fill: AI_FILL, color: 'auto' }, size: 18 }),
          new TextRun({ text: ' was written by the AI collaborator and accepted by a member.', size: 18, color: '555555' }),
        ],
      }),
    );
  }
  const document = new Document({
    title,
    creator: 'Ensemble',
    numbering: {
      config: [
        {
          reference: ORDERED,
          levels: Array.from({ length: 6 }, (_, level) => ({
            level,
            format: LevelFormat.DECIMAL,
            text: `%${level + 1}.`,
            alignment: AlignmentType.START,
            style: { paragraph: { indent: { left: 720 * (level + 1), hanging: 360 } } },
          })),
        },
      ],
    },
    sections: [{ children: paragraphs }],
  });
  return Packer.toBuffer(document);
}

function runs(list: Run[], quote: boolean): TextRun[] {
  return list.flatMap((run) => {
    const options: IRunOptions = {
      bold: run.bold,
      italics: run.italic || quote,
      strike: run.strike,
      ...(run.code ? { font: 'Courier New' } : {}),
      ...(run.ai ? { shading: { type: ShadingType.CLEAR, fill: AI_FILL, color: 'auto' } } : {}),
    };
    // A newline (hard break or inside a run) is a line break in Word.
    return run.text.split('\n').map((line, i) => new TextRun({ ...options, text: line, ...(i > 0 ? { break: 1 } : {}) }));
  });
}
