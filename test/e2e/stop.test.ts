import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { loadEngine, pacedEngine } from '../agent/harness';
import { watchConsole, useE2ESuite } from './harness';

/**
 * Stop in the browser. The real model's output is paced at 150 ms a chunk and runs to its token
 * limit, so a generation is reliably still running when the button is pressed.
 */
describe('web client: stopping a generation', () => {
  const e2e = useE2ESuite(async () => ({ engine: pacedEngine(await loadEngine(), 150) }));

  it('stop ends every alternative for everyone, keeping the text so far', async () => {
    const open = async (name: string): Promise<Page> => {
      const page = await (await e2e.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
      page.setDefaultTimeout(20_000);
      return page;
    };
    const a = await open('a');
    const logA = watchConsole(a, 'a');
    await a.goto(e2e.server.url);
    await a.getByLabel('Room name').fill('Stop me');
    await a.getByLabel('Your name').nth(1).fill('Ana');
    await a.getByRole('button', { name: 'Create room' }).click();
    await a.getByTestId('room').waitFor();
    const code = (await a.getByTestId('join-code').innerText()).trim();
    const b = await open('b');
    await b.goto(`${e2e.server.url}/?join=${code}`);
    await b.getByLabel('Your name').first().fill('Bo');
    await b.getByRole('button', { name: 'Join', exact: true }).click();
    await b.getByTestId('room').waitFor();
    await a.getByTestId('connection-status').filter({ hasText: 'Connected · saved' }).waitFor();

    await a.locator('[data-testid=story-editor]').click();
    await a.keyboard.type('It was late.');
    await a.getByTestId('ai-alternatives').selectOption('2');
    await a.getByTestId('ai-ask').click();
    // Both see it streaming; Bo stops it.
    await a.locator('[data-testid=alternative-text]').filter({ hasText: /\w+ \w+/ }).first().waitFor();
    await b.locator('[data-testid=alternative-text]').filter({ hasText: /\w+ \w+/ }).first().waitFor();
    await b.getByTestId('stop').click();
    for (const page of [a, b]) {
      await page.locator('[data-testid=proposal][data-status=stopped]').waitFor();
      await expect(page.getByTestId('stop').count()).resolves.toBe(0);
      await page.getByText('Stopped before the end.').first().waitFor();
    }
    // Nothing more arrives after the stop.
    const texts = await b.locator('[data-testid=alternative-text]').allInnerTexts();
    await b.waitForTimeout(800);
    expect(await b.locator('[data-testid=alternative-text]').allInnerTexts()).toEqual(texts);
    expect(texts.some((t) => t.trim().length > 0)).toBe(true);
    expect(logA.errors).toEqual([]);
  }, 120_000);
});
