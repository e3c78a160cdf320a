import { useEffect, useState } from 'react';
import type { Editor } from '@tiptap/core';
import { countWords, wordCountLabel } from '../lib/word-count';

/** Live word count for the editor footer; counts the selection too when there is one. */
export function WordCount({ editor }: { editor: Editor | null }) {
  const [label, setLabel] = useState('');
  useEffect(() => {
    if (!editor) return;
    const update = () => {
      const { doc, selection } = editor.state;
      const total = countWords(doc.textBetween(0, doc.content.size, ' ', ' '));
      const selected = selection.empty ? null : countWords(doc.textBetween(selection.from, selection.to, ' ', ' '));
      setLabel(wordCountLabel(total, selected));
    };
    update();
    editor.on('transaction', update);
    return () => {
      editor.off('transaction', update);
    };
  }, [editor]);
  if (!editor) return null;
  return (
    <p className="word-count" aria-live="polite" data-testid="word-count">
      {label}
    </p>
  );
}
