import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { artifact, watchConsole, useE2ESuite } from './harness';

/**
 * A TCP proxy in front of the server that can swallow every byte without closing anything: the
 * network dies silently, as on a train or a sleeping Wi-Fi, and the browser never hears `offline`.
 */
async function blackHoleProxy(upstreamPort: number): Promise<{ port: number; setSilent(silent: boolean): void; close(): Promise<void> }> {
  let silent = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    // A connection opened while silent is dead from the start, like a handshake into a dead network.
    const deadFromStart = silent;
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    // Connections that went silent stay dead after the network returns (their bytes were lost).
    const pairDead = () => deadFromStart || silenced.has(client);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (d) => void (pairDead() ? undefined : upstream.write(d)));
    upstream.on('data', (d) => void (pairDead() ? undefined : client.write(d)));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const silenced = new WeakSet<net.Socket>();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    setSilent(value: boolean) {
      silent = value;
      if (value) for (const s of sockets) silenced.add(s);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('web client: a silently dead network', () => {
  const e2e = useE2ESuite();
  const status = (page: Page) => page.getByTestId('connection-status');
  const story = (page: Page) => page.locator('[data-testid=story-editor]');

  it('stops claiming "saved" within seconds, not 30 s, and syncs once the network is back', async () => {
    const proxy = await blackHoleProxy(e2e.server.port);
    try {
      const page = await (await e2e.browser.newContext()).newPage();
      page.setDefaultTimeout(20_000);
      const log = watchConsole(page, 'writer');
      await page.goto(`http://127.0.0.1:${proxy.port}`);
      await page.getByLabel('Room name').fill('Tunnel');
      await page.getByLabel('Your name').nth(1).fill('Ida');
      await page.getByRole('button', { name: 'Create room' }).click();
      await status(page).filter({ hasText: 'Connected · saved' }).waitFor();
      const joinCode = (await page.getByTestId('join-code').innerText()).trim();

      const silentAt = Date.now();
      proxy.setSilent(true);
      await story(page).click();
      await page.keyboard.type('Into the tunnel.');
      // Never "saved" for an edit nobody received; then the dead socket is noticed.
      await status(page).filter({ hasText: 'Connected · saving…' }).waitFor({ timeout: 2_000 });
      await status(page).filter({ hasText: /Offline|Reconnecting/ }).waitFor({ timeout: 8_000 });
      const noticedAfterMs = Date.now() - silentAt;
      await page.screenshot({ path: artifact('silent-network.png') });
      expect(await page.evaluate(() => navigator.onLine)).toBe(true);

      proxy.setSilent(false);
      const backAt = Date.now();
      await status(page).filter({ hasText: 'Connected · saved' }).waitFor({ timeout: 20_000 });
      const savedAfterMs = Date.now() - backAt;
      // The AI channel shared the dead path; it is back too, without a reload.
      await expect.poll(() => page.locator('[data-testid=connection-status] .conn-ai').count(), { timeout: 30_000 }).toBe(0);
      const aiBackAfterMs = Date.now() - backAt;
      const other = await (await e2e.browser.newContext()).newPage();
      await other.goto(`${e2e.server.url}/?join=${joinCode}`);
      await other.getByLabel('Your name').first().fill('Jo');
      await other.getByRole('button', { name: 'Join', exact: true }).click();
      await story(other).filter({ hasText: 'Into the tunnel.' }).waitFor();
      console.log(`dead socket noticed ${noticedAfterMs} ms after the network went silent; saved ${savedAfterMs} ms, AI channel back ${aiBackAfterMs} ms after it returned`);
      expect(noticedAfterMs).toBeLessThan(8_000);
      expect(log.errors.filter((e) => !/WebSocket connection to .* failed|socket\.io|Failed to load resource/i.test(e))).toEqual([]);
    } finally {
      await proxy.close();
    }
  }, 120_000);
});
