import { afterAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { artifact, watchConsole, type ConsoleLog, useE2ESuite } from './harness';

/**
 * The web client in real Chromium against the real server (in-process, port 0) with the AI
 * collaborator, serving the production build of client/.
 */
describe('web client in Chromium', () => {
  const e2e = useE2ESuite();
  const contexts: BrowserContext[] = [];
  const logs: ConsoleLog[] = [];

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
  });

  async function openPage(name: string, path = '/', viewport = { width: 1366, height: 900 }): Promise<{ page: Page; log: ConsoleLog }> {
    const context = await e2e.browser.newContext({ viewport });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const log = watchConsole(page, name);
    logs.push(log);
    await page.goto(e2e.server.url + path);
    return { page, log };
  }

  /** The story's text as the editor shows it, without other people's carets and previews. */
  const cleanText = (locator: Locator) =>
    locator.evaluate((el) => {
      const copy = el.cloneNode(true) as HTMLElement;
      copy.querySelectorAll('.collaboration-carets__caret, .collaboration-carets__selection, [data-testid=ai-preview]').forEach((n) => n.remove());
      return copy.children.length > 0 && copy.matches('[data-testid=story-editor]')
        ? Array.from(copy.children, (c) => c.textContent ?? '').join('\n')
        : (copy.textContent ?? '');
    });
  const editorText = (page: Page) => cleanText(page.locator('[data-testid=story-editor]'));

  it('serves the production build, which loads without console errors', async () => {
    const { page, log } = await openPage('lobby');
    await expect(page.title()).resolves.toBe('Ensemble');
    await page.getByRole('heading', { name: 'Join a room' }).waitFor();
    await page.getByRole('heading', { name: 'Start a room' }).waitFor();
    // The HTML and assets come from client/dist (hashed asset names from vite build).
    const scripts = await page.locator('script[type=module]').evaluateAll((els) => els.map((e) => (e as HTMLScriptElement).src));
    expect(scripts.some((s) => /\/assets\/index-[\w-]+\.js$/.test(s))).toBe(true);
    // A bad join code is answered in words on the page.
    await page.getByLabel('Join code').fill('ZZZZZZ');
    await page.getByLabel('Your name', { exact: true }).first().fill('Nobody');
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: /not found|does not exist/i }).waitFor();
    await page.screenshot({ path: artifact('lobby.png') });
    // The failed join is a 404 the browser itself reports for the request; nothing else.
    expect(log.errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
  });

  it('two writers, the AI, a storyboard image and a viewer — live in both browsers', async () => {
    // --- Ada creates a writers' room; Ben joins through the share link. ---
    const { page: ada, log: adaLog } = await openPage('ada');
    await ada.getByLabel('Room name').fill('The Lighthouse');
    await ada.getByLabel('Your name').nth(1).fill('Ada');
    await ada.getByRole('button', { name: 'Create room' }).click();
    await ada.getByTestId('room').waitFor();
    const joinCode = (await ada.getByTestId('join-code').innerText()).trim();
    expect(joinCode).toMatch(/^[A-Z0-9]{6,12}$/);

    const { page: ben, log: benLog } = await openPage('ben', `/?join=${joinCode}`);
    await expect(ben.getByLabel('Join code').inputValue()).resolves.toBe(joinCode);
    await ben.getByLabel('Your name').first().fill('Ben');
    await ben.getByRole('button', { name: 'Join', exact: true }).click();
    await ben.getByTestId('room').waitFor();

    for (const page of [ada, ben]) {
      await page.getByTestId('connection-status').filter({ hasText: 'Connected · saved' }).waitFor();
      // The AI agent is in the presence list of both.
      await page.getByTestId('presence-agent').waitFor();
    }

    // --- Both type; each sees the other's text and caret. ---
    await ada.locator('[data-testid=story-editor]').click();
    await ada.keyboard.type('The lighthouse keeper woke before dawn.');
    await ben.locator('[data-testid=story-editor]', { hasText: 'The lighthouse keeper woke before dawn.' }).waitFor();
    await ben.locator('[data-testid=story-editor]').click();
    await ben.keyboard.press('Control+End');
    await ben.keyboard.type(' Rain hammered the glass.');
    await ada.locator('[data-testid=story-editor]', { hasText: 'Rain hammered the glass.' }).waitFor();
    expect(await editorText(ada)).toBe(await editorText(ben));
    await ada.locator('.collaboration-carets__label', { hasText: 'Ben' }).waitFor();
    await ada.locator('[data-testid=story-editor]').click();
    await ada.keyboard.press('Control+End');
    await ben.locator('.collaboration-carets__label', { hasText: 'Ada' }).waitFor();

    // --- Ada asks for a continuation with 2 alternatives; both watch it stream. ---
    const recordStream = (page: Page) =>
      page.evaluate(() => {
        const seen: Record<string, string[]> = {};
        (window as unknown as { __stream: typeof seen }).__stream = seen;
        const observer = new MutationObserver(() => {
          document.querySelectorAll<HTMLElement>('[data-testid=alternative]').forEach((el) => {
            const key = el.dataset.alternative ?? '?';
            const text = el.querySelector('[data-testid=alternative-text]')?.textContent ?? '';
            const list = (seen[key] ??= []);
            if (list[list.length - 1] !== text) list.push(text);
          });
        });
        observer.observe(document.body, { subtree: true, childList: true, characterData: true });
      });
    await recordStream(ada);
    await recordStream(ben);
    await ada.getByTestId('ai-alternatives').selectOption('2');
    await ada.getByTestId('ai-instruction').fill('keep it short and eerie');
    await ada.locator('[data-testid=story-editor]').click();
    await ada.keyboard.press('Control+End');
    await ada.keyboard.press('Control+Enter'); // the keyboard shortcut asks with the panel's settings

    for (const page of [ada, ben]) {
      await page.locator('[data-testid=proposal]').first().waitFor();
      await expect(page.locator('[data-testid=proposal]').first().locator('[data-testid=alternative]').count()).resolves.toBe(2);
    }
    for (const page of [ada, ben]) {
      await page.locator('[data-testid=proposal][data-status=ready]').waitFor({ timeout: 120_000 });
    }
    for (const page of [ada, ben]) {
      const stream = await page.evaluate(() => (window as unknown as { __stream: Record<string, string[]> }).__stream);
      expect(Object.keys(stream).sort()).toEqual(['0', '1']);
      // Seen growing: each alternative's texts are prefixes of the next, with several partial states.
      let most = 0;
      for (const states of Object.values(stream)) {
        const nonEmpty = states.filter((t) => t.length > 0);
        most = Math.max(most, nonEmpty.length);
        for (let i = 1; i < nonEmpty.length; i++) expect(nonEmpty[i]!.startsWith(nonEmpty[i - 1]!)).toBe(true);
      }
      expect(most).toBeGreaterThanOrEqual(3);
    }
    const finalTexts = async (page: Page) => page.locator('[data-testid=proposal]').first().locator('[data-testid=alternative-text]').allInnerTexts();
    expect((await finalTexts(ada)).sort()).toEqual((await finalTexts(ben)).sort());

    // Hovering an alternative previews it in Ada's editor at its place (a widget, not document text).
    const firstAlt = ada.locator('[data-testid=alternative]').first();
    await firstAlt.hover();
    await ada.locator('[data-testid=story-editor] [data-testid=ai-preview]').waitFor();
    await ada.screenshot({ path: artifact('editor-proposal-preview.png') });
    await ada.mouse.move(5, 5);

    // --- Ben accepts one; both editors contain it, marked as AI. ---
    // Ben takes the best-ranked alternative for him that has text (a real model may return an empty one).
    const benAlts = await ben.locator('[data-testid=proposal]').first().locator('[data-testid=alternative]').all();
    let benAlt = benAlts[0]!;
    for (const alt of benAlts) {
      if ((await alt.locator('[data-testid=alternative-text]').innerText()).trim() && (await alt.getByTestId('accept').isEnabled())) {
        benAlt = alt;
        break;
      }
    }
    const accepted = (await benAlt.locator('[data-testid=alternative-text]').innerText()).trim();
    expect(accepted.length).toBeGreaterThan(0);
    await benAlt.getByTestId('accept').click();
    // Whitespace may be normalised on insertion (paragraph breaks, trimming): compare the words.
    const squash = (t: string) => t.replace(/\s+/g, '');
    for (const page of [ada, ben]) {
      const marks = page.locator('[data-testid=story-editor] span[data-ai-authored]');
      await marks.first().waitFor();
      await page.locator('[data-testid=proposal][data-status=accepted]').waitFor();
      const markedText = (await Promise.all((await marks.all()).map((m) => cleanText(m)))).join('');
      expect(squash(markedText)).toBe(squash(accepted));
      await expect(marks.first().getAttribute('title')).resolves.toMatch(/^AI · accepted by Ben/);
      expect(squash(await editorText(page))).toContain(squash(accepted));
    }
    expect(await editorText(ada)).toBe(await editorText(ben));
    await ada.screenshot({ path: artifact('editor.png'), fullPage: true });

    // --- Storyboard: a panel gets an AI image both see. ---
    for (const page of [ada, ben]) await page.getByRole('tab', { name: 'Storyboard' }).click();
    await ada.getByTestId('add-panel').click();
    await ben.locator('[data-testid=sb-panel]').waitFor();
    await ada.getByTestId('panel-caption').fill('Wide shot: the lighthouse in the storm at dawn');
    await ada.getByTestId('panel-caption').blur();
    await ben.locator('[data-testid=panel-caption]').filter({ hasText: '' }).waitFor();
    await expect.poll(() => ben.getByTestId('panel-caption').inputValue()).toBe('Wide shot: the lighthouse in the storm at dawn');
    await ada.getByTestId('add-panel').click();
    await expect.poll(() => ben.locator('[data-testid=sb-panel]').count()).toBe(2);
    await ada.getByTestId('request-images').first().click();
    for (const page of [ada, ben]) await page.locator('[data-testid=image-thumb]').first().waitFor({ timeout: 120_000 });
    await ada.getByTestId('accept-image').first().click();
    const imageLoaded = (page: Page) =>
      page.locator('[data-testid=panel-image]').first().evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0);
    for (const page of [ada, ben]) {
      await page.locator('[data-testid=panel-image]').first().waitFor({ timeout: 60_000 });
      await expect.poll(() => imageLoaded(page)).toBe(true);
    }
    await ben.screenshot({ path: artifact('storyboard.png'), fullPage: true });

    // --- A viewer watches but cannot edit. ---
    const { page: vic, log: vicLog } = await openPage('vic', '/', { width: 900, height: 1100 });
    await vic.getByLabel('Join code').fill(joinCode);
    await vic.getByLabel('Your name').first().fill('Vic');
    await vic.getByLabel('Join as a viewer').check();
    await vic.getByRole('button', { name: 'Join', exact: true }).click();
    await vic.getByTestId('room').waitFor();
    const vicEditor = vic.locator('[data-testid=story-editor]');
    await vicEditor.filter({ hasText: 'Rain hammered the glass.' }).waitFor();
    await expect(vicEditor.getAttribute('contenteditable')).resolves.toBe('false');
    const before = await editorText(vic);
    await vicEditor.click();
    await vic.keyboard.type('VIEWER WAS HERE');
    await vic.waitForTimeout(500);
    expect(await editorText(vic)).toBe(before);
    expect(await editorText(ada)).not.toContain('VIEWER WAS HERE');
    await expect(vic.getByTestId('ai-ask').count()).resolves.toBe(0);
    await vic.getByRole('note').filter({ hasText: 'viewer' }).waitFor();
    // The viewer still sees live changes.
    await ben.getByRole('tab', { name: 'Story', exact: true }).click();
    await ben.locator('[data-testid=story-editor]').click();
    await ben.keyboard.press('Control+End');
    await ben.keyboard.type(' The end.');
    await vicEditor.filter({ hasText: 'The end.' }).waitFor();
    await vic.screenshot({ path: artifact('viewer-tablet.png') });

    // --- The owner's dashboard: provenance counts the agent and both writers. ---
    await ada.getByRole('tab', { name: 'Dashboard' }).click();
    const prov = ada.getByTestId('provenance');
    await prov.waitFor();
    for (const who of ['Ada', 'Ben', 'Ensemble AI']) await prov.getByRole('rowheader', { name: new RegExp(who) }).waitFor();
    // The agent's text is still marked after people typed around it; Ben is its accepter.
    const benRow = prov.getByRole('row').filter({ has: ada.getByRole('rowheader', { name: 'Ben' }) });
    const acceptedByBen = Number(await benRow.getByRole('cell').nth(2).innerText());
    expect(acceptedByBen).toBeGreaterThan(0);
    const agentRow = prov.getByRole('row').filter({ has: ada.getByRole('rowheader', { name: /Ensemble AI/ }) });
    expect(Number(await agentRow.getByRole('cell').nth(0).innerText())).toBeGreaterThan(0);
    // A watch-only code makes a viewer even without ticking "viewer".
    await ada.getByRole('button', { name: 'Create a watch-only code' }).click();
    const viewerCode = (await ada.getByTestId('viewer-code').locator('.join-code').innerText()).trim();
    const { page: wes, log: wesLog } = await openPage('wes', `/?join=${viewerCode}`, { width: 1024, height: 768 });
    await wes.getByLabel('Your name').first().fill('Wes');
    await wes.getByRole('button', { name: 'Join', exact: true }).click();
    await wes.getByTestId('room').waitFor();
    await wes.getByText('You are Wes (viewer)').waitFor();
    await expect(wes.locator('[data-testid=story-editor]').getAttribute('contenteditable')).resolves.toBe('false');
    expect(wesLog.errors).toEqual([]);
    await ada.screenshot({ path: artifact('dashboard.png') });

    // --- "What next?": Ben asks for suggestions and turns one into a request both see. ---
    await ben.getByTestId('recommend-next').click();
    const suggestion = ben.locator('.suggestion .suggestion-main').first();
    await suggestion.waitFor();
    await suggestion.click();
    for (const page of [ada, ben]) {
      await expect.poll(() => page.locator('[data-testid=proposal]').count()).toBe(2);
      await page.locator('[data-testid=proposal]').first().locator('.instruction').waitFor();
    }
    await ben.screenshot({ path: artifact('recommendations.png') });
    for (const page of [ada, ben]) await page.locator('[data-testid=proposal]').first().and(page.locator('[data-status=ready]')).waitFor({ timeout: 120_000 });
    // Regenerate keeps the earlier alternatives and streams new ones into the same card.
    const latest = (page: Page) => page.locator('[data-testid=proposal]').first();
    const before2 = await latest(ben).locator('[data-testid=alternative]').count();
    await latest(ben).getByRole('button', { name: 'Regenerate' }).click();
    for (const page of [ada, ben]) {
      await expect.poll(() => latest(page).locator('[data-testid=alternative]').count()).toBe(before2 * 2);
      await latest(page).and(page.locator('[data-status=ready]')).waitFor({ timeout: 120_000 });
    }

    // --- The owner turns the AI off; asking then fails with a message in words. ---
    await ada.getByRole('radio', { name: 'Off' }).check();
    await ada.waitForTimeout(1200); // the agent re-reads settings at most once a second
    await ada.getByRole('tab', { name: 'Story', exact: true }).click();
    await expect(ada.getByTestId('ai-ask').isDisabled()).resolves.toBe(true);
    await ada.locator('[data-testid=story-editor]').click();
    await ada.keyboard.press('Control+Enter');
    await ada.getByTestId('notice-error').filter({ hasText: 'The AI is turned off in this room' }).waitFor();

    // --- Versions: save, change, restore; every client gets the restored text. ---
    await ada.getByRole('tab', { name: 'Story', exact: true }).click();
    await ada.locator('.versions summary').click();
    await ada.getByLabel('Version name').fill('Draft A');
    await ada.getByRole('button', { name: 'Save', exact: true }).click();
    await ada.locator('.version-list', { hasText: 'Draft A' }).waitFor();
    await ada.locator('[data-testid=story-editor]').click();
    await ada.keyboard.press('Control+End');
    await ada.keyboard.type(' Extra words.');
    await ben.locator('[data-testid=story-editor]', { hasText: 'Extra words.' }).waitFor();
    ada.once('dialog', (d) => void d.accept());
    await ada.getByRole('button', { name: 'Restore version Draft A' }).click();
    for (const page of [ada, ben, vic]) {
      await expect.poll(() => editorText(page), { timeout: 15_000 }).not.toContain('Extra words.');
      expect(await editorText(page)).toContain('The end.');
    }

    // A reload keeps the tab's session (sessionStorage) and shows the same story, AI marks included.
    await ben.reload();
    await ben.getByTestId('connection-status').filter({ hasText: 'Connected · saved' }).waitFor();
    await expect.poll(() => editorText(ben)).toBe(await editorText(ada));
    await ben.locator('[data-testid=story-editor] span[data-ai-authored]').first().waitFor();

    if (process.env.E2E_SHOW_WARNINGS) console.log([...adaLog.warnings, ...benLog.warnings, ...vicLog.warnings].join('\n'));
    const errors = [...adaLog.errors, ...benLog.errors, ...vicLog.errors];
    expect(errors).toEqual([]);
  }, 600_000);
});
