import { Mark, mergeAttributes } from '@tiptap/core';
import { AI_MARK, type AiMarkAttrs } from '@ensemble/shared';

export interface AiMarkOptions {
  /** Display name for a member id (the accepter); falls back to the id. */
  nameOf: (memberId: string) => string;
}

/** Title shown on hover over AI-written text. */
export function aiMarkTitle(attrs: Partial<AiMarkAttrs>, nameOf: (memberId: string) => string): string {
  const who = attrs.acceptedBy ? nameOf(attrs.acceptedBy) : '';
  const model = attrs.model ? ` · ${attrs.model}` : '';
  return who ? `AI · accepted by ${who}${model}` : `AI-written${model}`;
}

/**
 * The attribution mark the agent writes on accepted text (`{ [AI_MARK]: AiMarkAttrs }` in Yjs).
 * Not inclusive: typing right after AI text is the human's own. It must keep the default
 * `excludes` (itself): y-tiptap stores a mark that may overlap itself under a hashed key
 * (`aiAuthored--<hash>`), which the server's provenance would no longer recognise.
 */
export const AiMark = Mark.create<AiMarkOptions>({
  name: AI_MARK,
  inclusive: false,
  addOptions() {
    return { nameOf: (id: string) => id };
  },
  addAttributes() {
    return {
      proposalId: { default: null, parseHTML: (el) => el.getAttribute('data-proposal-id'), renderHTML: () => ({}) },
      model: { default: null, parseHTML: (el) => el.getAttribute('data-model'), renderHTML: () => ({}) },
      acceptedBy: { default: null, parseHTML: (el) => el.getAttribute('data-accepted-by'), renderHTML: () => ({}) },
    };
  },
  parseHTML() {
    return [{ tag: 'span[data-ai-authored]' }];
  },
  renderHTML({ mark, HTMLAttributes }) {
    const attrs = mark.attrs as Partial<AiMarkAttrs>;
    return [
      'span',
      mergeAttributes(HTMLAttributes, {
        'data-ai-authored': '',
        'data-proposal-id': attrs.proposalId ?? '',
        'data-model': attrs.model ?? '',
        'data-accepted-by': attrs.acceptedBy ?? '',
        class: 'ai-text',
        title: aiMarkTitle(attrs, this.options.nameOf),
      }),
      0,
    ];
  },
});
