import { hasAiText, type Block, type Run } from './story-model';

/**
 * The story as CommonMark. Markdown has no highlight, so AI-written runs are not marked inline
 * (the prose stays clean to paste anywhere); a closing note says the story contains AI text and
 * that the HTML and DOCX exports mark it.
 */
export function storyMarkdown(title: string, blocks: Block[]): string {
  const body = blocks.map((b) => blockMarkdown(b)).join('\n\n');
  const note = hasAiText(blocks) ? '\n\n---\n\n_This story contains AI-written passages accepted in Ensemble; the HTML and DOCX exports mark them._' : '';
  return `# ${escapeInline(title)}\n\n${body}${note}\n`;
}

function blockMarkdown(block: Block): string {
  switch (block.type) {
    case 'paragraph':
      return escapeLineStart(runsMarkdown(block.runs));
    case 'heading':
      // The title is the one level-1 heading; the story's headings sit one level below it.
      return `${'#'.repeat(Math.min(6, block.level + 1))} ${runsMarkdown(block.runs)}`;
    case 'quote':
      return block.blocks
        .map(blockMarkdown)
        .join('\n\n')
        .split('\n')
        .map((line) => (line ? `> ${line}` : '>'))
        .join('\n');
    case 'list':
      return block.items
        .map((item, i) => {
          const marker = block.ordered ? `${i + 1}.` : '-';
          const pad = ' '.repeat(marker.length + 1);
          return item
            .map(blockMarkdown)
            .join('\n\n')
            .split('\n')
            .map((line, j) => (j === 0 ? `${marker} ${line}` : line ? pad + line : ''))
            .join('\n');
        })
        .join('\n');
    case 'code':
      return '```\n' + block.text.replace(/```/g, '``\u200b`') + '\n```';
    case 'rule':
      return '---';
  }
}

function runsMarkdown(runs: Run[]): string {
  return runs.map(runMarkdown).join('');
}

function runMarkdown(run: Run): string {
  if (run.text === '\n') return '  \n';
  if (run.code) return '`' + run.text.replace(/`/g, "'") + '`';
  // Emphasis markers must touch the text: keep the run's outer spaces outside them.
  const [, lead = '', core = '', trail = ''] = /^(\s*)([\s\S]*?)(\s*)$/.exec(run.text) ?? [];
  if (!core) return run.text;
  let out = escapeInline(core).replace(/\n/g, '  \n');
  if (run.strike) out = `~~${out}~~`;
  if (run.italic) out = `*${out}*`;
  if (run.bold) out = `**${out}**`;
  return lead + out + trail;
}

function escapeInline(text: string): string {
  return text.replace(/([\\`*_[\]<>])/g, '\\$1');
}

/** A paragraph that starts like a heading, quote, list or rule would become one: escape it. */
function escapeLineStart(text: string): string {
  return text.replace(/^(\s*)(#|>|[-+] |\d+[.)] |---)/, (_m, space: string, mark: string) => `${space}\\${mark}`);
}
