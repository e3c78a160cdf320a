import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { artifact, type ConsoleLog, useE2ESuite, useMemberPages } from './harness';

/** Issue 13 (comments) in real Chromium: threaded, resolvable comments on a passage, live between members. */
describe('web client: comments on a passage', () => {
  const e2e = useE2ESuite();
  const open = useMemberPages(e2e);

  async function join(name: string, code: string, asViewer = false): Promise<{ page: Page; log: ConsoleLog }> {
    const m = await open(name, `/?join=${code}`);
    await m.page.getByLabel('Your name').first().fill(name);
    if (asViewer) await m.page.getByLabel('Join as a viewer').check();
    await m.page.getByRole('button', { name: 'Join', exact: true }).click();
    await m.page.getByTestId('room').waitFor();
    await m.page.getByTestId('connection-status').filter({ hasText: /Connected/ }).waitFor();
    return m;
  }

  const story = (page: Page) => page.locator('[data-testid=story-editor]');
  const threads = (page: Page) => page.locator('[data-testid=comment-thread]');
  /** The tinted passage of each thread in the member's editor (ProseMirror splits a tint at marks and carets). */
  const highlighted = (page: Page) =>
    page.evaluate(() => {
      const byThread = new Map<string, string>();
      for (const span of Array.from(document.querySelectorAll('[data-testid=story-editor] .comment-highlight'))) {
        const id = span.getAttribute('data-thread-id') ?? '';
        byThread.set(id, (byThread.get(id) ?? '') + (span.textContent ?? ''));
      }
      return [...byThread.values()];
    });

  /** Selects the last `length` characters before the final full stop of the story. */
  async function selectBeforeFullStop(page: Page, length: number): Promise<void> {
    await story(page).click();
    await page.keyboard.press('Control+End');
    await page.keyboard.press('ArrowLeft');
    for (let i = 0; i < length; i++) await page.keyboard.press('Shift+ArrowLeft');
  }

  it('A comments on a passage, B sees it live and replies, A resolves it (hidden unless "Show resolved"); a viewer reads but cannot comment', async () => {
    const a = await open('olga');
    await a.page.getByLabel('Room name').fill('Comment room');
    await a.page.getByLabel('Your name').nth(1).fill('Olga');
    await a.page.getByRole('button', { name: 'Create room' }).click();
    await a.page.getByTestId('room').waitFor();
    await a.page.getByTestId('connection-status').filter({ hasText: /Connected/ }).waitFor();
    const code = (await a.page.getByTestId('join-code').innerText()).trim();
    const b = await join('Ben', code);
    const v = await join('Vic', code, true);

    await story(a.page).click();
    await a.page.keyboard.type('The lighthouse stayed dark.');
    await story(b.page).filter({ hasText: 'stayed dark.' }).waitFor();

    // Comment is only possible with a selection.
    const commentButton = a.page.getByRole('button', { name: 'Comment', exact: true });
    await expect(commentButton.isDisabled()).resolves.toBe(true);
    await selectBeforeFullStop(a.page, 'stayed dark'.length);
    await commentButton.click();
    const composer = a.page.getByTestId('comment-composer');
    await expect(composer.locator('.comment-quote').innerText()).resolves.toBe('stayed dark');
    await composer.getByRole('button', { name: 'Post comment' }).waitFor();
    await expect(composer.getByRole('button', { name: 'Post comment' }).isDisabled()).resolves.toBe(true);
    await composer.getByLabel('Your comment').fill('Too bleak for the opening?');
    await composer.getByRole('button', { name: 'Post comment' }).click();
    await composer.waitFor({ state: 'detached' });

    // B sees the thread and the tinted passage live.
    const bThread = threads(b.page).filter({ hasText: 'Too bleak for the opening?' });
    await bThread.waitFor();
    await expect(bThread.locator('.comment-quote q').innerText()).resolves.toBe('stayed dark');
    await expect.poll(() => highlighted(b.page)).toEqual(['stayed dark']);
    await expect.poll(() => highlighted(a.page)).toEqual(['stayed dark']);

    // B writes before the passage: the comment stays on it for both.
    await story(b.page).locator('p').first().click({ position: { x: 1, y: 4 } });
    await b.page.keyboard.press('Home');
    await b.page.keyboard.type('At night, ');
    // (Not 'At night, The…': B's caret label sits between the two in A's editor.)
    await story(a.page).filter({ hasText: 'At night,' }).waitFor();
    await expect.poll(() => highlighted(a.page)).toEqual(['stayed dark']);
    await expect.poll(() => highlighted(b.page)).toEqual(['stayed dark']);

    // B replies; A sees it.
    await bThread.getByRole('button', { name: 'Reply' }).click();
    await bThread.getByLabel('Your reply').fill('Keep it: it sets the mood.');
    await bThread.getByRole('button', { name: 'Send reply' }).click();
    const aThread = threads(a.page).first();
    await aThread.filter({ hasText: 'Keep it: it sets the mood.' }).waitFor();
    await expect(aThread.locator('[data-testid=comment-message] strong').allInnerTexts()).resolves.toEqual(['Olga', 'Ben']);

    // Clicking the thread selects its passage in the story.
    await bThread.locator('.comment-quote').click();
    await expect.poll(() => b.page.evaluate(() => window.getSelection()?.toString())).toBe('stayed dark');
    await b.page.getByTestId('comments-panel').screenshot({ path: artifact('comments-panel.png') });

    // The viewer reads everything, live, and has no way to comment.
    const vThread = threads(v.page).filter({ hasText: 'Keep it: it sets the mood.' });
    await vThread.waitFor();
    await expect.poll(() => highlighted(v.page)).toEqual(['stayed dark']);
    await expect(v.page.getByRole('button', { name: 'Comment', exact: true }).count()).resolves.toBe(0);
    await expect(v.page.getByTestId('comment-composer').count()).resolves.toBe(0);
    await expect(vThread.getByRole('button').filter({ hasText: /Reply|Resolve|Delete/ }).count()).resolves.toBe(0);

    // A resolves: the thread is hidden for everyone unless "Show resolved".
    await aThread.getByRole('button', { name: 'Resolve' }).click();
    for (const page of [a.page, b.page, v.page]) {
      await threads(page).first().waitFor({ state: 'detached' });
      await page.getByTestId('comments-empty').filter({ hasText: 'All comments are resolved.' }).waitFor();
      await expect.poll(() => highlighted(page)).toEqual([]);
    }
    await b.page.getByLabel('Show resolved (1)').check();
    await threads(b.page).getByTestId('comment-resolved').filter({ hasText: 'Resolved by Olga' }).waitFor();
    await expect(threads(a.page).count()).resolves.toBe(0);

    // B reopens; A deletes the passage: the thread stays, orphaned, with its quote.
    await threads(b.page).getByRole('button', { name: 'Reopen' }).click();
    await threads(a.page).first().waitFor();
    await selectBeforeFullStop(a.page, 'stayed dark'.length);
    await a.page.keyboard.press('Backspace');
    const orphan = threads(b.page).first();
    await orphan.getByTestId('comment-orphaned').waitFor();
    await expect(orphan.locator('.comment-quote q').innerText()).resolves.toBe('stayed dark');
    await expect.poll(() => highlighted(b.page)).toEqual([]);
    await b.page.screenshot({ path: artifact('comments-room.png') });

    expect(a.log.errors).toEqual([]);
    expect(b.log.errors).toEqual([]);
    expect(v.log.errors).toEqual([]);
  }, 300_000);
});
