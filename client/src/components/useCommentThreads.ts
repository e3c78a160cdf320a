import { useEffect, useMemo, useReducer } from 'react';
import type * as Y from 'yjs';
import { observeComments, storyOf, threadsInDocumentOrder, type PlacedThread } from '@ensemble/shared';

/**
 * The room's comment threads in document order, live: re-read when a comment changes and, at most
 * once a frame, when the story does (a thread's place and orphaned state follow the text).
 */
export function useCommentThreads(doc: Y.Doc, includeResolved: boolean): PlacedThread[] {
  const [version, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    let frame = 0;
    const onStory = () => {
      if (!frame) frame = window.requestAnimationFrame(() => {
        frame = 0;
        bump();
      });
    };
    const story = storyOf(doc);
    story.observeDeep(onStory);
    const off = observeComments(doc, bump);
    return () => {
      off();
      story.unobserveDeep(onStory);
      if (frame) window.cancelAnimationFrame(frame);
    };
  }, [doc]);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  return useMemo(() => threadsInDocumentOrder(doc, { includeResolved }), [doc, includeResolved, version]);
}
