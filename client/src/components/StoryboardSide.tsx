import { Sparkles } from 'lucide-react';

/** What the side pane shows beside the storyboard instead of the text AI panel. */
export function StoryboardSide() {
  return (
    <section className="panel" aria-labelledby="sb-side-title" data-testid="storyboard-side">
      <h2 id="sb-side-title">AI images</h2>
      <p className="muted small">
        Write a caption on a panel, choose how many pictures, and press <Sparkles size={14} aria-hidden="true" /> AI images on that panel. Everyone sees the
        proposals; pick one to use it. Text proposals are on the Story tab.
      </p>
    </section>
  );
}
