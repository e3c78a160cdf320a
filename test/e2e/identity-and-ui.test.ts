import { afterAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { artifact, watchConsole, type ConsoleLog, useE2ESuite } from './harness';

/** Issue 13, item 8 (identity, room URLs, my rooms), item 9's small items, toolbar and word count. */
describe('web client: identity, room URLs and first-use details', () => {
  // Nine AI requests in a row (the bounded-list check): a request budget that does not run out mid-test.
  const e2e = useE2ESuite(() => ({ agent: { rate: { burst: 20, perMinute: 60 } } }));
  const contexts: BrowserContext[] = [];
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
  });

  async function browser(width = 1366): Promise<BrowserContext> {
    const context = await e2e.browser.newContext({ viewport: { width, height: 900 } });
    contexts.push(context);
    return context;
  }

  async function tab(context: BrowserContext, name: string, path = '/'): Promise<{ page: Page; log: ConsoleLog }> {
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const log = watchConsole(page, name);
    await page.goto(e2e.server.url + path);
    return { page, log };
  }

  async function createRoom(page: Page, roomName: string, kind?: string): Promise<{ code: string; roomId: string; token: string }> {
    await page.getByLabel('Room name').fill(roomName);
    await page.getByLabel('Your name').nth(1).fill('Olga');
    if (kind) await page.getByRole('radio', { name: new RegExp(kind) }).check();
    await page.getByRole('button', { name: 'Create room' }).click();
    await page.getByTestId('room').waitFor();
    const code = (await page.getByTestId('join-code').innerText()).trim();
    const session = JSON.parse((await page.evaluate(() => sessionStorage.getItem('ensemble.session'))) ?? '{}');
    return { code, roomId: session.room.id, token: session.token };
  }

  async function joinByCode(page: Page, code: string, name: string): Promise<void> {
    await page.goto(`${e2e.server.url}/?join=${code}`);
    await page.getByLabel('Your name').first().fill(name);
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    await page.getByTestId('room').waitFor();
    await page.getByTestId('connection-status').filter({ hasText: /Connected/ }).waitFor();
  }

  const members = async (roomId: string, token: string) => {
    const res = await fetch(`${e2e.server.url}/api/rooms/${roomId}/members`, { headers: { authorization: `Bearer ${token}` } });
    return ((await res.json()) as { members: Array<{ id: string; displayName: string }> }).members;
  };
  const myColor = (page: Page) => page.locator('[data-testid=presence-person]', { hasText: '(you)' }).locator('.avatar').evaluate((el) => getComputedStyle(el).backgroundColor);

  it('a member resumes as themselves: new tab, deep link, leave and rejoin by code; one member, one colour; my rooms', async () => {
    const ownerCtx = await browser();
    const { page: owner, log: ownerLog } = await tab(ownerCtx, 'owner');
    const room = await createRoom(owner, 'Identity room');
    expect(new URL(owner.url()).pathname).toBe(`/r/${room.roomId}`);

    const benCtx = await browser();
    const { page: ben, log: benLog } = await tab(benCtx, 'ben');
    await joinByCode(ben, room.code, 'Ben');
    expect(new URL(ben.url()).pathname).toBe(`/r/${room.roomId}`);
    const color = await myColor(ben);

    // A second tab of the same browser on the room's URL opens the room as the same Ben.
    const { page: ben2 } = await tab(benCtx, 'ben-tab2', `/r/${room.roomId}`);
    await ben2.getByTestId('room').waitFor();
    await ben2.getByText('You are Ben (editor)').waitFor();
    await ben2.close();

    // Leave, then join again by code with the same name: still one Ben, same colour.
    await ben.getByRole('button', { name: 'Leave' }).click();
    await ben.getByTestId('my-rooms').waitFor();
    await expect(ben.getByTestId('my-room').first().innerText()).resolves.toMatch(/Identity room[\s\S]*Ben \(editor\)/);
    await ben.screenshot({ path: artifact('lobby-my-rooms.png') });
    await joinByCode(ben, room.code, 'ben');
    await expect(myColor(ben)).resolves.toBe(color);
    await ben.getByRole('button', { name: 'Leave' }).click();
    // ...and from "My rooms".
    await ben.getByRole('button', { name: /Open Identity room as Ben/ }).click();
    await ben.getByTestId('room').waitFor();
    const bens = (await members(room.roomId, room.token)).filter((m) => m.displayName.toLowerCase() === 'ben');
    expect(bens).toHaveLength(1);

    // The owner's dashboard has one Ben row once Ben writes, and it fills in live (no Refresh).
    await owner.getByRole('tab', { name: 'Dashboard' }).click();
    await owner.getByTestId('provenance').waitFor();
    await ben.locator('[data-testid=story-editor]').click();
    await ben.keyboard.type('Ben was here. ');
    const benRow = owner.getByTestId('provenance').getByRole('row').filter({ has: owner.getByRole('rowheader', { name: 'Ben' }) });
    await benRow.waitFor({ timeout: 10_000 });
    await ben.keyboard.type('And wrote more.');
    await expect.poll(async () => Number(await benRow.getByRole('cell').nth(0).innerText()), { timeout: 10_000 }).toBeGreaterThanOrEqual(29);
    await expect(owner.getByTestId('provenance').getByRole('rowheader', { name: 'Ben' }).count()).resolves.toBe(1);

    // A fresh browser on the deep link: the lobby explains; remove-from-list works.
    const strangerCtx = await browser();
    const { page: stranger } = await tab(strangerCtx, 'stranger', `/r/${room.roomId}`);
    await stranger.getByText('This browser has not joined that room yet').waitFor();
    await ben.getByRole('button', { name: 'Leave' }).click();
    await ben.getByRole('button', { name: /Remove Identity room from my rooms/ }).click();
    await expect(ben.getByTestId('my-rooms').count()).resolves.toBe(0);

    // The watch-only code the owner creates is the code viewers see in their header.
    await owner.getByRole('button', { name: 'Create a watch-only code' }).click();
    const viewerCode = (await owner.getByTestId('viewer-code').locator('.join-code').innerText()).trim();
    const viewerCtx = await browser();
    const { page: viewer } = await tab(viewerCtx, 'viewer');
    await joinByCode(viewer, viewerCode, 'Vic');
    await expect(viewer.getByTestId('join-code').innerText()).resolves.toBe(viewerCode);
    expect(ownerLog.errors).toEqual([]);
    expect(benLog.errors).toEqual([]);
  });

  it('carets get distinct colours; toolbar formats; word count; icons are svg', async () => {
    const ctxA = await browser();
    const { page: a, log } = await tab(ctxA, 'a');
    const room = await createRoom(a, 'Toolbar room');
    const others: Page[] = [];
    for (const name of ['Cy', 'Di', 'Ed']) {
      const { page } = await tab(await browser(), name);
      await joinByCode(page, room.code, name);
      others.push(page);
    }
    // Every present pair differs clearly (no two near-identical blues).
    await expect
      .poll(async () => {
        const colors = await a.locator('[data-testid=presence-person] .avatar').evaluateAll((els) => els.map((el) => getComputedStyle(el).backgroundColor));
        const rgb = colors.map((c) => c.match(/\d+/g)!.slice(0, 3).map(Number));
        let min = Infinity;
        for (let i = 0; i < rgb.length; i++)
          for (let j = i + 1; j < rgb.length; j++) {
            const [r1, g1, b1] = rgb[i]!;
            const [r2, g2, b2] = rgb[j]!;
            const rm = (r1! + r2!) / 2;
            min = Math.min(min, Math.sqrt((2 + rm / 256) * (r1! - r2!) ** 2 + 4 * (g1! - g2!) ** 2 + (2 + (255 - rm) / 256) * (b1! - b2!) ** 2));
          }
        return rgb.length === 4 ? min : 0;
      }, { timeout: 15_000 })
      .toBeGreaterThanOrEqual(150);

    const editor = a.locator('[data-testid=story-editor]');
    await editor.click();
    await a.keyboard.type('Title here');
    await a.getByRole('button', { name: 'Heading 1' }).click();
    await editor.locator('h1', { hasText: 'Title here' }).waitFor();
    await expect(a.getByRole('button', { name: 'Heading 1' }).getAttribute('aria-pressed')).resolves.toBe('true');
    // The active state is visible, not only announced.
    const bg = (name: string) => a.getByRole('button', { name, exact: true }).evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(await bg('Heading 1')).not.toBe(await bg('Heading 2'));
    await a.keyboard.press('End');
    await a.keyboard.press('Enter');
    await a.getByRole('button', { name: 'Bold' }).click();
    await a.keyboard.type('strong words');
    await editor.locator('strong', { hasText: 'strong words' }).waitFor();
    await a.getByRole('button', { name: 'Bullet list' }).click();
    await editor.locator('ul li', { hasText: 'strong words' }).waitFor();
    await expect(a.getByRole('button', { name: 'Bullet list' }).getAttribute('aria-pressed')).resolves.toBe('true');
    await a.getByRole('button', { name: 'Bullet list' }).click();
    await expect(editor.locator('ul').count()).resolves.toBe(0);
    await a.getByRole('button', { name: 'Quote' }).click();
    await editor.locator('blockquote', { hasText: 'strong words' }).waitFor();
    // The count follows the editor's state a render later: poll, do not read once.
    await expect.poll(() => a.getByTestId('word-count').innerText()).toBe('4 words');
    await a.keyboard.press('Shift+Home');
    await expect.poll(() => a.getByTestId('word-count').innerText()).toBe('2 of 4 words selected');
    await a.getByRole('button', { name: 'Undo' }).click();
    await expect(editor.locator('blockquote').count()).resolves.toBe(0);
    await a.getByRole('button', { name: 'Redo' }).click();
    await editor.locator('blockquote').waitFor();
    // The other members see the formatting.
    await others[0]!.locator('[data-testid=story-editor] h1', { hasText: 'Title here' }).waitFor();
    await a.screenshot({ path: artifact('toolbar-word-count.png') });
    // No emoji/glyphs as icons: toolbar and notice close buttons carry an svg.
    expect(await a.locator('[data-testid=editor-toolbar] button svg').count()).toBe(10); // 9 formats + Comment
    expect(log.errors).toEqual([]);
  });

  it('storyboard at 820 px: shot type not covered, trash is an svg, side pane follows view, image count kept', async () => {
    const ctx = await browser(820);
    const { page, log } = await tab(ctx, 'sb');
    await createRoom(page, 'Board room', 'Storyboard');
    await page.getByTestId('add-panel').click();
    await page.getByLabel('Shot type of panel 1').waitFor();
    const shot = (await page.getByLabel('Shot type of panel 1').boundingBox())!;
    const dur = (await page.getByLabel('Duration of panel 1 in seconds').boundingBox())!;
    const overlap = shot.x < dur.x + dur.width && dur.x < shot.x + shot.width && shot.y < dur.y + dur.height && dur.y < shot.y + shot.height;
    expect(overlap).toBe(false);
    expect(shot.width).toBeGreaterThan(60);
    await expect(page.getByRole('button', { name: 'Delete panel 1' }).locator('svg').count()).resolves.toBe(1);
    await expect(page.getByRole('button', { name: 'Delete panel 1' }).innerText()).resolves.toBe('');
    await page.screenshot({ path: artifact('storyboard-820.png') });
    // The side pane fits the view.
    await expect(page.getByTestId('ai-panel').count()).resolves.toBe(0);
    await page.getByTestId('storyboard-side').waitFor();
    await page.getByRole('tab', { name: 'Story', exact: true }).click();
    await page.getByTestId('ai-panel').waitFor();
    await expect(page.getByTestId('storyboard-side').count()).resolves.toBe(0);
    await page.getByRole('tab', { name: 'Storyboard' }).click();
    // The image count stays what was chosen after a request (and after a reload).
    await page.getByLabel('Caption of panel 1').fill('A lighthouse at dusk');
    await page.getByLabel('Number of images to propose for panel 1').selectOption('3');
    await page.getByTestId('request-images').click();
    await page.getByTestId('request-images').filter({ hasText: 'AI images' }).waitFor({ timeout: 60_000 });
    await expect(page.getByLabel('Number of images to propose for panel 1').inputValue()).resolves.toBe('3');
    await page.reload();
    await page.getByLabel('Number of images to propose for panel 1').waitFor();
    await expect(page.getByLabel('Number of images to propose for panel 1').inputValue()).resolves.toBe('3');
    expect(log.errors).toEqual([]);
  });

  it('votes change "#1 for you"; the proposal list stays bounded', async () => {
    const { page, log } = await tab(await browser(), 'voter');
    await createRoom(page, 'Vote room');
    await page.locator('[data-testid=story-editor]').click();
    await page.keyboard.type('The keeper climbed the stairs.');
    await page.getByTestId('ai-alternatives').selectOption('2');
    await page.getByTestId('ai-ask').click();
    const card = page.locator('[data-testid=proposal]').first();
    await page.locator('[data-testid=proposal][data-status=ready]').first().waitFor({ timeout: 120_000 });
    const firstFor = async () => Number(await card.locator('[data-testid=alternative]', { has: page.getByTestId('rank').filter({ hasText: '#1' }) }).getAttribute('data-alternative'));
    await card.getByTestId('rank').first().waitFor();
    const before = await firstFor();
    const other = before === 0 ? 1 : 0;
    await card.getByRole('button', { name: `Vote up alternative ${other + 1}` }).click();
    await expect.poll(firstFor, { timeout: 10_000 }).toBe(other);
    await card.getByRole('button', { name: `Vote up alternative ${other + 1}` }).click(); // take the vote back
    await card.getByRole('button', { name: `Vote down alternative ${other + 1}` }).click();
    await expect.poll(firstFor, { timeout: 10_000 }).toBe(before);

    // Seven more requests: at most 5 finished cards stay open, the rest fold behind "Show older".
    await page.getByTestId('ai-alternatives').selectOption('1');
    for (let i = 0; i < 7; i++) {
      await page.getByTestId('ai-ask').click();
      await expect.poll(() => page.locator('[data-testid=proposal][data-status=ready]').count(), { timeout: 120_000 }).toBeGreaterThanOrEqual(Math.min(i + 2, 5));
      await expect.poll(() => page.locator('[data-testid=proposal][data-status=streaming]').count(), { timeout: 120_000 }).toBe(0);
    }
    await expect(page.locator('[data-testid=proposal]').count()).resolves.toBe(5);
    await page.getByTestId('older-proposals').click();
    const total = await page.locator('[data-testid=proposal]').count();
    expect(total).toBeGreaterThanOrEqual(7);
    await page.getByTestId('older-proposals').click();
    await expect(page.locator('[data-testid=proposal]').count()).resolves.toBe(5);
    await expect(page.getByTestId('older-proposals').innerText()).resolves.toBe(`Show ${total - 5} older proposals`);
    expect(log.errors).toEqual([]);
  });
});
