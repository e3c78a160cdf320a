import { hasAiText, type Block, type Run } from './story-model';

const STYLE = `body{font-family:Georgia,'Times New Roman',serif;max-width:42rem;margin:2rem auto;padding:0 1rem;line-height:1.6;color:#1d1d1f}
blockquote{border-left:3px solid #c7c7cc;margin-left:0;padding-left:1rem;color:#3a3a3c}
.ai-written{background:#e8f0fe;border-bottom:1px dotted #5b7fd6}
.legend{font-size:.85rem;color:#555;border-top:1px solid #ddd;margin-top:2rem;padding-top:.5rem}`;

/** The story's blocks as an HTML fragment (no document around it): what a version preview shows. */
export function storyHtmlFragment(blocks: Block[]): string {
  return blocks.map(blockHtml).join('\n');
}

/**
 * The story as a standalone HTML document. AI-written runs carry class `ai-written` (a light blue
 * background) and a legend at the end explains the colour.
 */
export function storyHtml(title: string, blocks: Block[]): string {
  const legend = hasAiText(blocks) ? `\n<p class="legend"><span class="ai-written">Highlighted text</span> was written by the AI collaborator and accepted by a member.</p>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${storyHtmlFragment(blocks)}${legend}
</body>
</html>
`;
}

function blockHtml(block: Block): string {
  switch (block.type) {
    case 'paragraph':
      return `<p>${runsHtml(block.runs)}</p>`;
    case 'heading': {
      const level = Math.min(6, block.level + 1);
      return `<h${level}>${runsHtml(block.runs)}</h${level}>`;
    }
    case 'quote':
      return `<blockquote>\n${block.blocks.map(blockHtml).join('\n')}\n</blockquote>`;
    case 'list': {
      const tag = block.ordered ? 'ol' : 'ul';
      return `<${tag}>\n${block.items.map((item) => `<li>${item.map(blockHtml).join('')}</li>`).join('\n')}\n</${tag}>`;
    }
    case 'code':
      return `<pre><code>${escapeHtml(block.text)}</code></pre>`;
    case 'rule':
      return '<hr>';
  }
}

function runsHtml(runs: Run[]): string {
  return runs.map(runHtml).join('');
}

function runHtml(run: Run): string {
  if (run.text === '\n') return '<br>';
  let out = escapeHtml(run.text).replace(/\n/g, '<br>');
  if (run.code) out = `<code>${out}</code>`;
  if (run.strike) out = `<s>${out}</s>`;
  if (run.italic) out = `<em>${out}</em>`;
  if (run.bold) out = `<strong>${out}</strong>`;
  if (run.ai) out = `<span class="ai-written" title="AI-written">${out}</span>`;
  return out;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
