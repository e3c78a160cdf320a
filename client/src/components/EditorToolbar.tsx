import { useEffect, useReducer } from 'react';
import type { Editor } from '@tiptap/core';
import { Bold, Heading1, Heading2, Italic, List, ListOrdered, MessageSquarePlus, Quote, Redo2, Undo2, type LucideIcon } from 'lucide-react';

interface Tool {
  label: string;
  icon: LucideIcon;
  /** Whether the format is on at the cursor (aria-pressed); absent for undo/redo. */
  active?: (e: Editor) => boolean;
  run: (e: Editor) => void;
  can?: (e: Editor) => boolean;
}

// Undo/redo are the Collaboration extension's (Yjs, per user), which StarterKit's history gives way to.
const TOOLS: Tool[][] = [
  [
    { label: 'Bold', icon: Bold, active: (e) => e.isActive('bold'), run: (e) => e.chain().focus().toggleBold().run() },
    { label: 'Italic', icon: Italic, active: (e) => e.isActive('italic'), run: (e) => e.chain().focus().toggleItalic().run() },
  ],
  [
    { label: 'Heading 1', icon: Heading1, active: (e) => e.isActive('heading', { level: 1 }), run: (e) => e.chain().focus().toggleHeading({ level: 1 }).run() },
    { label: 'Heading 2', icon: Heading2, active: (e) => e.isActive('heading', { level: 2 }), run: (e) => e.chain().focus().toggleHeading({ level: 2 }).run() },
    { label: 'Bullet list', icon: List, active: (e) => e.isActive('bulletList'), run: (e) => e.chain().focus().toggleBulletList().run() },
    { label: 'Numbered list', icon: ListOrdered, active: (e) => e.isActive('orderedList'), run: (e) => e.chain().focus().toggleOrderedList().run() },
    { label: 'Quote', icon: Quote, active: (e) => e.isActive('blockquote'), run: (e) => e.chain().focus().toggleBlockquote().run() },
  ],
  [
    { label: 'Undo', icon: Undo2, run: (e) => e.chain().focus().undo().run(), can: (e) => e.can().undo() },
    { label: 'Redo', icon: Redo2, run: (e) => e.chain().focus().redo().run(), can: (e) => e.can().redo() },
  ],
];

/**
 * Formatting buttons above the story, and "Comment" on the selected passage when `onComment` is
 * given; re-renders on every editor transaction to show what is on.
 */
export function EditorToolbar({ editor, onComment }: { editor: Editor | null; onComment?: () => void }) {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    if (!editor) return;
    editor.on('transaction', rerender);
    return () => {
      editor.off('transaction', rerender);
    };
  }, [editor]);
  if (!editor) return null;
  return (
    <div className="editor-toolbar" role="toolbar" aria-label="Formatting" data-testid="editor-toolbar">
      {TOOLS.map((group, g) => (
        <div className="toolbar-group" key={g}>
          {group.map((t) => {
            const Icon = t.icon;
            const on = t.active ? t.active(editor) : undefined;
            let enabled = true;
            try {
              enabled = t.can ? t.can(editor) : true;
            } catch {
              enabled = true;
            }
            return (
              <button
                key={t.label}
                type="button"
                className={`tool ${on ? 'active' : ''}`}
                aria-label={t.label}
                title={t.label}
                {...(on !== undefined ? { 'aria-pressed': on } : {})}
                disabled={!enabled}
                // Keep the editor's selection: act on mousedown without taking focus.
                onMouseDown={(ev) => ev.preventDefault()}
                onClick={() => t.run(editor)}
              >
                <Icon size={16} aria-hidden="true" />
              </button>
            );
          })}
        </div>
      ))}
      {onComment && (
        <div className="toolbar-group">
          <button
            type="button"
            className="tool-text"
            title="Comment on the selected passage"
            disabled={editor.state.selection.empty}
            onMouseDown={(ev) => ev.preventDefault()}
            onClick={onComment}
          >
            <MessageSquarePlus size={16} aria-hidden="true" /> Comment
          </button>
        </div>
      )}
    </div>
  );
}
