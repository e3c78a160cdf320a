import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { artifact, useE2ESuite, useMemberPages } from './harness';

/** Runs in the page: the editor's text without caret labels (rendered inside the editor by other members' carets). */
function storyTextInPage(): string {
  const el = document.querySelector('[data-testid=story-editor]');
  if (!el) return '';
  const copy = el.cloneNode(true) as HTMLElement;
  for (const c of Array.from(copy.querySelectorAll('[class*="caret"], [data-testid=ai-preview]'))) c.remove();
  return Array.from(copy.querySelectorAll('p')).map((p) => p.textContent ?? '').join('\n').trim();
}

/** Issue 13, item 1 in real Chromium with two members: undoing an accept of AI text. */
describe('web client: undo accept of AI text', () => {
  const e2e = useE2ESuite();
  const open = useMemberPages(e2e);

  const story = (page: Page) => page.locator('[data-testid=story-editor]');
  /** The story's text as the member sees it, without other members' caret labels. */
  const text = (page: Page) => page.evaluate(storyTextInPage);
  /** Both pages show exactly `expected` (waits for sync). */
  async function bothShow(pages: Page[], expected: string): Promise<void> {
    for (const page of pages) {
      await page.waitForFunction(`(${storyTextInPage.toString()})() === ${JSON.stringify(expected)}`, undefined, { timeout: 15_000 }).catch(() => undefined);
    }
    for (const page of pages) expect(await text(page)).toBe(expected);
  }

  /** `page` asks for one alternative, accepts it, and waits until `other` shows the AI text. Returns the card. */
  async function askAndAccept(page: Page, other: Page) {
    const before = await text(other);
    const cards = page.locator('[data-testid=proposal]');
    const n = await cards.count();
    await page.getByTestId('ai-alternatives').selectOption('1');
    await page.getByTestId('ai-ask').click();
    await page.waitForFunction((k) => document.querySelectorAll('[data-testid=proposal]').length > k, n);
    const card = cards.first();
    await card.locator('[data-testid=accept]:not([disabled])').waitFor({ timeout: 90_000 });
    await card.getByTestId('accept').click();
    await page.locator('[data-testid=proposal][data-status=accepted]').first().waitFor();
    await other.waitForFunction(`(${storyTextInPage.toString()})() !== ${JSON.stringify(before)}`, undefined, { timeout: 15_000 });
    await other.locator('[data-testid=story-editor] .ai-text').first().waitFor();
    return card;
  }

  it('Undo accept, Ctrl+Z right after an accept, and a later revert by another editor restore the text exactly for both; Ctrl+Z otherwise undoes only one’s own typing', async () => {
    const owner = await open('owner');
    await owner.page.getByLabel('Room name').fill('Undo room');
    await owner.page.getByLabel('Your name').nth(1).fill('Olga');
    await owner.page.getByRole('button', { name: 'Create room' }).click();
    await owner.page.getByTestId('room').waitFor();
    const code = (await owner.page.getByTestId('join-code').innerText()).trim();
    const ed = await open('ed', `/?join=${code}`);
    await ed.page.getByLabel('Your name').first().fill('Ed');
    await ed.page.getByRole('button', { name: 'Join', exact: true }).click();
    await ed.page.getByTestId('room').waitFor();
    await ed.page.getByTestId('connection-status').filter({ hasText: /Connected/ }).waitFor();
    const pages = [owner.page, ed.page];

    await story(owner.page).click();
    await owner.page.keyboard.type('Olga opens the story.');
    await story(ed.page).filter({ hasText: 'opens the story.' }).waitFor();
    await story(ed.page).click();
    await ed.page.keyboard.press('Control+End');
    await ed.page.keyboard.type(' Ed adds a line.');
    const before = 'Olga opens the story. Ed adds a line.';
    await bothShow(pages, before);

    // 1. The card's "Undo accept".
    const card = await askAndAccept(ed.page, owner.page);
    expect(await text(owner.page)).not.toBe(before);
    await card.getByTestId('undo-accept').click();
    await bothShow(pages, before);
    await card.getByTestId('reverted-by').waitFor();
    await expect(card.getByTestId('reverted-by').innerText()).resolves.toMatch(/undone by Ed/);
    await expect(owner.page.locator('[data-testid=proposal][data-status=reverted]').count()).resolves.toBe(1);
    await card.screenshot({ path: artifact('undo-accept-card.png') });

    // 2. Ctrl+Z right after the accept (back in the editor, no edit in between).
    await askAndAccept(ed.page, owner.page);
    await story(ed.page).click();
    await ed.page.keyboard.press('Control+z');
    await bothShow(pages, before);

    // 3. After an own edit, Ctrl+Z undoes that edit only; the AI text stays until another editor reverts it.
    await askAndAccept(ed.page, owner.page);
    const withAi = await text(ed.page);
    await story(ed.page).click();
    await ed.page.keyboard.press('Control+End');
    await ed.page.keyboard.type(' More.');
    await bothShow(pages, withAi + ' More.');
    await ed.page.waitForTimeout(700); // past the undo manager's capture window
    await ed.page.keyboard.press('Control+z');
    await bothShow(pages, withAi);
    const acceptedId = await owner.page.locator('[data-testid=proposal][data-status=accepted]').first().getAttribute('data-proposal-id');
    const ownerCard = owner.page.locator(`[data-testid=proposal][data-proposal-id="${acceptedId}"]`);
    await ownerCard.getByTestId('undo-accept').click();
    await bothShow(pages, before);
    await expect(ownerCard.getByTestId('reverted-by').innerText()).resolves.toMatch(/undone by Olga/);

    // 4. Ordinary undo stays per user: Ed's Ctrl+Z takes Ed's own line, never Olga's newer text.
    await story(owner.page).click();
    await owner.page.keyboard.press('Control+End');
    await owner.page.keyboard.type(' Olga ends.');
    await bothShow(pages, before + ' Olga ends.');
    await story(ed.page).click();
    await ed.page.keyboard.press('Control+z');
    await bothShow(pages, 'Olga opens the story. Olga ends.');
    await ed.page.screenshot({ path: artifact('undo-accept-room.png') });

    expect(owner.log.errors).toEqual([]);
    expect(ed.log.errors).toEqual([]);
  }, 420_000);
});
