import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { artifact, type ConsoleLog, useE2ESuite, useMemberPages } from './harness';

/** Issue 13, items 2 and 6 in real Chromium: regenerate on an auto-mode card; AI off blocks accept. */
describe('web client: auto-mode regenerate and AI off', () => {
  const e2e = useE2ESuite();
  const open = useMemberPages(e2e);

  /** The owner creates a room in the UI; returns the page, its join code and its token. */
  async function ownerRoom(roomName: string): Promise<{ page: Page; log: ConsoleLog; code: string; roomId: string; token: string }> {
    const { page, log } = await open('owner');
    await page.getByLabel('Room name').fill(roomName);
    await page.getByLabel('Your name').nth(1).fill('Olga');
    await page.getByRole('button', { name: 'Create room' }).click();
    await page.getByTestId('room').waitFor();
    const code = (await page.getByTestId('join-code').innerText()).trim();
    const session = JSON.parse((await page.evaluate(() => sessionStorage.getItem('ensemble.session'))) ?? '{}');
    return { page, log, code, roomId: session.room.id, token: session.token };
  }

  async function join(name: string, code: string): Promise<{ page: Page; log: ConsoleLog }> {
    const m = await open(name, `/?join=${code}`);
    await m.page.getByLabel('Your name').first().fill(name);
    await m.page.getByRole('button', { name: 'Join', exact: true }).click();
    await m.page.getByTestId('room').waitFor();
    await m.page.getByTestId('connection-status').filter({ hasText: /Connected/ }).waitFor();
    return m;
  }

  const patchSettings = async (roomId: string, token: string, body: Record<string, unknown>) => {
    const res = await fetch(`${e2e.server.url}/api/rooms/${roomId}/settings`, { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
  };

  it('regenerate on an "Ensemble AI (auto)" card leaves no console error and the page keeps working', async () => {
    const owner = await ownerRoom('Auto room');
    await patchSettings(owner.roomId, owner.token, { autoMode: true, autoPauseSec: 2 });
    const student = await join('Stu', owner.code);
    await student.page.locator('[data-testid=story-editor]').click();
    await student.page.keyboard.type('The fog rolled over the harbour.');
    // The pause: the agent offers a continuation on its own.
    const card = student.page.locator('[data-testid=proposal]', { hasText: 'Ensemble AI (auto)' });
    await card.waitFor({ timeout: 60_000 });
    // Regenerate shows once the offer has finished streaming.
    await card.getByRole('button', { name: 'Regenerate' }).waitFor({ timeout: 60_000 });
    for (let round = 0; round < 3; round++) {
      // Hover an alternative (its preview is drawn at the card's anchor), then click Regenerate
      // with the pointer, so the new alternatives stream in under it and are previewed too.
      await card.locator('[data-testid=alternative]').first().hover();
      await card.getByRole('button', { name: 'Regenerate' }).click({ timeout: 60_000 });
      await card.locator('[data-testid=alternative]').nth(round + 1).waitFor();
      await card.locator('[data-testid=alternative]').nth(round + 1).hover();
      await card.getByRole('button', { name: 'Regenerate' }).waitFor({ timeout: 60_000 });
    }
    await student.page.getByTestId('ai-preview').first().waitFor({ state: 'attached' });
    await student.page.screenshot({ path: artifact('auto-regenerate.png') });
    // The page is still there and editable.
    await expect(student.page.getByTestId('room').count()).resolves.toBe(1);
    await expect(student.page.getByTestId('error-boundary').count()).resolves.toBe(0);
    await student.page.locator('[data-testid=story-editor]').click();
    await student.page.keyboard.press('End');
    await student.page.keyboard.type(' Still here.');
    await owner.page.locator('[data-testid=story-editor]', { hasText: 'Still here.' }).waitFor();
    expect(student.log.errors).toEqual([]);
    expect(owner.log.errors).toEqual([]);
  }, 240_000);

  it('AI off: Accept is disabled with the reason, and the AI text stays out of the story', async () => {
    const owner = await ownerRoom('Class');
    const student = await join('Sam', owner.code);
    await student.page.locator('[data-testid=story-editor]').click();
    await student.page.keyboard.type('Sam starts the story.');
    await student.page.getByTestId('ai-ask').click();
    const accept = student.page.getByTestId('accept').first();
    await student.page.waitForFunction(() => !!document.querySelector('[data-testid=accept]:not([disabled])'), undefined, { timeout: 60_000 });
    await patchSettings(owner.roomId, owner.token, { aiMode: 'off' });
    await student.page.getByTestId('ai-off-reason').first().waitFor();
    await expect(accept.isDisabled()).resolves.toBe(true);
    await expect(accept.getAttribute('title')).resolves.toMatch(/turned off/);
    await expect(student.page.getByRole('button', { name: 'Regenerate' }).first().isDisabled()).resolves.toBe(true);
    await student.page.screenshot({ path: artifact('ai-off-accept-disabled.png') });
    // Forcing the click anyway (a stale tab) is refused by the server, with the reason shown.
    await accept.evaluate((b) => ((b as HTMLButtonElement).disabled = false));
    await accept.click();
    await student.page.getByText(/turned off/).first().waitFor();
    await student.page.waitForTimeout(500);
    const story = await owner.page.locator('[data-testid=story-editor]').innerText();
    expect(story.trim()).toBe('Sam starts the story.');
    expect(student.log.errors).toEqual([]);
  }, 180_000);

  it('a restore keeps per-author counts on the dashboard (no "unknown" row)', async () => {
    const owner = await ownerRoom('Restore room');
    const student = await join('Stu', owner.code);
    await owner.page.locator('[data-testid=story-editor]').click();
    await owner.page.keyboard.type('Olga opens.');
    await student.page.locator('[data-testid=story-editor]', { hasText: 'Olga opens.' }).waitFor();
    await student.page.locator('[data-testid=story-editor]').click();
    await student.page.keyboard.press('Control+End');
    await student.page.keyboard.press('Enter');
    const stuText = 'Stu wrote two sentences. Here is the second.';
    await student.page.keyboard.type(stuText);
    await owner.page.locator('[data-testid=story-editor]', { hasText: 'the second.' }).waitFor();

    await owner.page.locator('.versions summary').click();
    await owner.page.getByPlaceholder('Name this version').fill('Both wrote');
    await owner.page.getByRole('button', { name: 'Save', exact: true }).click();
    await owner.page.getByRole('button', { name: 'Restore version Both wrote' }).waitFor();
    // Stu deletes their sentences; the owner restores the version.
    for (let i = 0; i < stuText.length; i++) await student.page.keyboard.press('Backspace');
    await owner.page.locator('[data-testid=story-editor]', { hasText: 'the second.' }).waitFor({ state: 'detached' });
    owner.page.once('dialog', (d) => void d.accept());
    await owner.page.getByRole('button', { name: 'Restore version Both wrote' }).click();
    for (const page of [owner.page, student.page]) await page.locator('[data-testid=story-editor]', { hasText: 'the second.' }).waitFor();

    await owner.page.getByRole('tab', { name: 'Dashboard' }).click();
    const table = owner.page.getByTestId('provenance');
    await table.waitFor();
    await owner.page.getByTestId('dashboard').getByRole('button', { name: 'Refresh' }).first().click();
    const stuRow = table.locator('tbody tr', { has: owner.page.locator('th', { hasText: 'Stu' }) });
    await expect(stuRow.locator('td').first().innerText()).resolves.toBe(String(stuText.length));
    const olgaRow = table.locator('tbody tr', { has: owner.page.locator('th', { hasText: 'Olga' }) });
    await expect(olgaRow.locator('td').first().innerText()).resolves.toBe(String('Olga opens.'.length));
    await expect(table.locator('tbody th', { hasText: 'unknown' }).count()).resolves.toBe(0);
    await owner.page.screenshot({ path: artifact('restore-keeps-authors.png') });
    expect(owner.log.errors).toEqual([]);
    expect(student.log.errors).toEqual([]);
  }, 180_000);
});
