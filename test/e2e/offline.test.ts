import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { artifact, startE2EServer, watchConsole, useE2ESuite } from './harness';

/** Edits made while the server is gone stay in the tab, the status says so, and they sync on reconnect. */
describe('web client offline and reconnect', () => {
  const e2e = useE2ESuite();

  const status = (page: Page) => page.getByTestId('connection-status');
  const story = (page: Page) => page.locator('[data-testid=story-editor]');

  it('keeps offline edits, says so, and syncs them when the server is back', async () => {
    const context = await e2e.browser.newContext({ viewport: { width: 1024, height: 768 } });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const log = watchConsole(page, 'writer');
    await page.goto(e2e.server.url);
    await page.getByLabel('Room name').fill('Night shift');
    await page.getByLabel('Your name').nth(1).fill('Ola');
    await page.getByLabel('Classroom').check();
    await page.getByRole('button', { name: 'Create room' }).click();
    await status(page).filter({ hasText: 'Connected · saved' }).waitFor();
    const joinCode = (await page.getByTestId('join-code').innerText()).trim();
    await story(page).click();
    await page.keyboard.type('Before the outage.');
    await page.waitForTimeout(300); // group commit

    // The server goes away: the tab says it is offline…
    const { port, dataDir } = e2e.server;
    await e2e.server.close({ keepData: true });
    await status(page).filter({ hasText: /Offline|Reconnecting/ }).waitFor();
    // …and keeps what is typed meanwhile, saying it will sync.
    await story(page).click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type(' Typed while offline.');
    await status(page).filter({ hasText: /edits are kept/ }).waitFor();
    await page.screenshot({ path: artifact('offline.png') });

    // Back on the same port and data: the provider reconnects and sends the offline edits.
    e2e.server = await startE2EServer({ dataDir, port });
    await status(page).filter({ hasText: 'Connected · saved' }).waitFor({ timeout: 30_000 });

    const other = await (await e2e.browser.newContext()).newPage();
    await other.goto(`${e2e.server.url}/?join=${joinCode}`);
    await other.getByLabel('Your name').first().fill('Pat');
    await other.getByRole('button', { name: 'Join', exact: true }).click();
    await story(other).filter({ hasText: 'Before the outage. Typed while offline.' }).waitFor();

    // Lost connections are reported by Chromium itself as failed WebSocket handshakes; nothing else.
    expect(log.errors.filter((e) => !/WebSocket connection to .* failed|ERR_CONNECTION_REFUSED|socket\.io/i.test(e))).toEqual([]);
  }, 180_000);
});
