import { describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { artifact, startE2EServer, watchConsole, useE2ESuite } from './harness';

/** Network cuts show as offline at once; a server restart brings `/collab` back without a reload. */
describe('web client: honest offline and AI channel reconnect', () => {
  const e2e = useE2ESuite();

  const status = (page: Page) => page.getByTestId('connection-status');
  const story = (page: Page) => page.locator('[data-testid=story-editor]');
  const aiChannelDown = (page: Page) => page.locator('[data-testid=connection-status] .conn-ai');
  // Lost connections are reported by Chromium itself as failed WebSocket/handshake requests; nothing else.
  const unexpected = (errors: string[]) =>
    errors.filter((e) => !/WebSocket connection to .* failed|ERR_CONNECTION_REFUSED|ERR_INTERNET_DISCONNECTED|socket\.io|Failed to load resource/i.test(e));

  async function createRoom(context: BrowserContext, name: string): Promise<{ page: Page; joinCode: string }> {
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(e2e.server.url);
    await page.getByLabel('Room name').fill('Cut lines');
    await page.getByLabel('Your name').nth(1).fill(name);
    await page.getByRole('button', { name: 'Create room' }).click();
    await status(page).filter({ hasText: 'Connected · saved' }).waitFor();
    return { page, joinCode: (await page.getByTestId('join-code').innerText()).trim() };
  }

  async function join(joinCode: string, name: string): Promise<Page> {
    const page = await (await e2e.browser.newContext()).newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${e2e.server.url}/?join=${joinCode}`);
    await page.getByLabel('Your name').first().fill(name);
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    await status(page).filter({ hasText: 'Connected · saved' }).waitFor();
    return page;
  }

  it('shows offline within 2 s of the network going, keeps edits, blames the connection, and syncs on return', async () => {
    const context = await e2e.browser.newContext({ viewport: { width: 1024, height: 768 } });
    const { page, joinCode } = await createRoom(context, 'Ola');
    const log = watchConsole(page, 'writer');
    await story(page).click();
    await page.keyboard.type('Before the cut.');
    await status(page).filter({ hasText: 'Connected · saved' }).waitFor();

    const cutAt = Date.now();
    await context.setOffline(true);
    await status(page).filter({ hasText: /^Offline — your changes are kept on this device and will sync/ }).waitFor({ timeout: 2_000 });
    const offlineAfterMs = Date.now() - cutAt;
    await story(page).click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type(' Typed on the train.');
    await status(page).filter({ hasText: /^Offline — your edits are kept on this device and will sync/ }).waitFor();
    // Asking the AI now says the connection is down, not that the server failed.
    await page.keyboard.press('Control+Enter');
    const notice = page.locator('[data-testid^=notice-]').filter({ hasText: /offline/i });
    await notice.waitFor();
    expect(await notice.innerText()).not.toMatch(/server/i);
    await page.screenshot({ path: artifact('offline-banner.png') });

    const backAt = Date.now();
    await context.setOffline(false);
    await status(page).filter({ hasText: 'Connected · saved' }).waitFor({ timeout: 15_000 });
    const savedAfterMs = Date.now() - backAt;
    const other = await join(joinCode, 'Pat');
    await story(other).filter({ hasText: 'Before the cut. Typed on the train.' }).waitFor();
    console.log(`offline shown ${offlineAfterMs} ms after the cut; saved again ${savedAfterMs} ms after the network returned`);
    expect(offlineAfterMs).toBeLessThan(2_000);
    expect(unexpected(log.errors)).toEqual([]);
    await context.close();
    await other.context().close();
  }, 120_000);

  it('reconnects /collab after a server restart without a reload, replaces stale cards, and streams new proposals', async () => {
    const { page: ada, joinCode } = await createRoom(await e2e.browser.newContext({ viewport: { width: 1280, height: 860 } }), 'Ada');
    const ben = await join(joinCode, 'Ben');
    const logs = [watchConsole(ada, 'ada'), watchConsole(ben, 'ben')];
    await story(ada).click();
    await ada.keyboard.type('The ferry left at noon.');
    await story(ben).filter({ hasText: 'The ferry left at noon.' }).waitFor();

    const ask = async () => {
      await story(ada).click();
      await ada.keyboard.press('Control+End');
      await ada.keyboard.press('Control+Enter');
    };
    await ask();
    for (const page of [ada, ben]) await page.locator('[data-testid=proposal][data-status=ready]').waitFor({ timeout: 120_000 });
    const staleId = await ada.locator('[data-testid=proposal]').first().getAttribute('data-proposal-id');
    for (const page of [ada, ben]) await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

    // Restart on the same port and data: live proposals live in server memory, so the room has none.
    const { port, dataDir } = e2e.server;
    await e2e.server.close({ keepData: true });
    await aiChannelDown(ada).waitFor();
    e2e.server = await startE2EServer({ dataDir, port });
    const restartedAt = Date.now();
    for (const page of [ada, ben]) {
      await status(page).filter({ hasText: 'Connected · saved' }).waitFor({ timeout: 30_000 });
      await expect.poll(() => aiChannelDown(page).count(), { timeout: 30_000 }).toBe(0);
    }
    const collabBackMs = Date.now() - restartedAt;
    // Both tabs now show the server's list (empty after the restart), not the stale card.
    for (const page of [ada, ben]) await expect.poll(() => page.locator('[data-testid=proposal]').count(), { timeout: 10_000 }).toBe(0);

    // A proposal asked for after the restart streams to both tabs.
    await ask();
    for (const page of [ada, ben]) {
      await page.locator('[data-testid=proposal]').first().waitFor();
      await page.locator('[data-testid=proposal][data-status=ready]').waitFor({ timeout: 120_000 });
      expect((await page.locator('[data-testid=proposal] [data-testid=alternative-text]').first().innerText()).trim().length).toBeGreaterThan(0);
      expect(await page.locator('[data-testid=proposal]').first().getAttribute('data-proposal-id')).not.toBe(staleId);
      expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    }
    await ada.screenshot({ path: artifact('collab-reconnected.png') });
    console.log(`/collab back in both tabs ${collabBackMs} ms after the server restarted`);
    for (const log of logs) expect(unexpected(log.errors)).toEqual([]);
  }, 300_000);
});
