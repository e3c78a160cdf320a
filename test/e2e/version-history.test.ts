import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { artifact, useE2ESuite, useMemberPages } from './harness';

/** Runs in the page: the editor's paragraphs as text. */
function storyTextInPage(): string {
  const el = document.querySelector('[data-testid=story-editor]');
  if (!el) return '';
  return Array.from(el.querySelectorAll('p')).map((p) => p.textContent ?? '').join('\n').trim();
}

/** Issue 13, "version history you can read": preview with a diff, rename, restore (with its automatic version), delete. */
describe('web client: version history', () => {
  const e2e = useE2ESuite();
  const open = useMemberPages(e2e);

  const text = (page: Page) => page.evaluate(storyTextInPage);
  const showsStory = (page: Page, expected: string) =>
    page.waitForFunction(`(${storyTextInPage.toString()})() === ${JSON.stringify(expected)}`, undefined, { timeout: 15_000 }).catch(() => undefined);

  it('saves, previews the diff against the current story, renames, restores (saving the story before it) and deletes', async () => {
    const { page, log } = await open('owner');
    await page.getByLabel('Room name').fill('History room');
    await page.getByLabel('Your name').nth(1).fill('Olga');
    await page.getByRole('button', { name: 'Create room' }).click();
    await page.getByTestId('room').waitFor();
    await page.getByTestId('connection-status').filter({ hasText: /Connected/ }).waitFor();

    const editor = page.locator('[data-testid=story-editor]');
    await editor.click();
    await page.keyboard.type('The fox ran into the wood.');
    await page.locator('.versions summary').click();
    await page.getByLabel('Version name').fill('Draft one');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const list = page.locator('.version-list');
    await list.getByRole('button', { name: 'Preview version Draft one' }).waitFor();

    // Edit more: a changed word and a new paragraph.
    await editor.click();
    await page.keyboard.press('Control+End');
    for (let i = 0; i < 'wood.'.length; i++) await page.keyboard.press('Backspace');
    await page.keyboard.type('hills.');
    await page.keyboard.press('Enter');
    await page.keyboard.type('Night fell.');
    await showsStory(page, 'The fox ran into the hills.\nNight fell.');
    expect(await text(page)).toBe('The fox ran into the hills.\nNight fell.');
    await page.getByTestId('connection-status').filter({ hasText: 'Connected · saved' }).waitFor();

    // The preview: what restoring "Draft one" would bring back (inserted) and remove (deleted).
    await list.getByRole('button', { name: 'Preview version Draft one' }).click();
    const preview = page.getByRole('dialog', { name: 'Preview of version Draft one' });
    const diff = preview.getByTestId('version-diff');
    await diff.waitFor();
    await expect(diff.locator('ins').allInnerTexts()).resolves.toEqual(['wood']);
    const deleted = (await diff.locator('del').allInnerTexts()).join('');
    expect(deleted).toContain('hills');
    expect(deleted).toContain('Night fell.');
    expect(await diff.locator('p').first().innerText()).toMatch(/^The fox ran into the /);
    await expect(preview.getByTestId('diff-summary').innerText()).resolves.toMatch(/brings back green text and removes red text/);
    await preview.screenshot({ path: artifact('version-history-preview-diff.png') });
    // The version's text alone.
    await preview.getByLabel('Highlight changes').uncheck();
    await expect(preview.getByTestId('version-text').innerText()).resolves.toBe('The fox ran into the wood.');
    await preview.getByRole('button', { name: 'Close' }).click();
    await preview.waitFor({ state: 'detached' });

    // Rename in place.
    await list.getByRole('button', { name: 'Rename version Draft one' }).click();
    const nameInput = list.getByLabel('New name for Draft one');
    await nameInput.fill('Opening');
    await nameInput.press('Enter');
    await list.getByRole('button', { name: 'Preview version Opening' }).waitFor();
    await expect(list.getByText('Draft one').count()).resolves.toBe(0);

    // Restore from the preview: the story before it is saved as an automatic version first.
    await list.getByRole('button', { name: 'Preview version Opening' }).click();
    const openingPreview = page.getByRole('dialog', { name: 'Preview of version Opening' });
    await openingPreview.getByTestId('version-diff').waitFor();
    page.once('dialog', (d) => void d.accept());
    await openingPreview.getByRole('button', { name: 'Restore this version' }).click();
    await openingPreview.waitFor({ state: 'detached' });
    await showsStory(page, 'The fox ran into the wood.');
    expect(await text(page)).toBe('The fox ran into the wood.');
    const auto = list.locator('[data-testid=version][data-kind=auto]');
    await auto.filter({ hasText: 'Before restore of Opening' }).waitFor();
    await expect(auto.locator('.badge').innerText()).resolves.toMatch(/auto/i);
    await expect(list.locator('[data-testid=version][data-kind=manual]').count()).resolves.toBe(1);

    // The automatic version holds the story from before the restore.
    await list.getByRole('button', { name: 'Preview version Before restore of Opening' }).click();
    const beforePreview = page.getByRole('dialog', { name: 'Preview of version Before restore of Opening' });
    await beforePreview.getByTestId('version-diff').waitFor();
    await beforePreview.getByLabel('Highlight changes').uncheck();
    await expect(beforePreview.getByTestId('version-text').innerText()).resolves.toBe('The fox ran into the hills.\n\nNight fell.');
    await beforePreview.getByRole('button', { name: 'Close' }).click();
    await beforePreview.waitFor({ state: 'detached' });

    // Delete, after a confirm.
    page.once('dialog', (d) => void d.accept());
    await list.getByRole('button', { name: 'Delete version Opening' }).click();
    await list.getByRole('button', { name: 'Preview version Opening' }).waitFor({ state: 'detached' });
    await expect(list.locator('[data-testid=version]').count()).resolves.toBe(1);
    await expect(page.getByTestId('notice-info').filter({ hasText: 'Deleted version “Opening”.' }).count()).resolves.toBeGreaterThan(0);
    expect(log.errors).toEqual([]);
  });
});
