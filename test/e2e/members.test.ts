import { describe, expect, it } from 'vitest';
import { artifact, watchConsole, useE2ESuite } from './harness';

/** The owner removes a member from the dashboard; the member's tab is disconnected and told why. */
describe('web client: removing a member', () => {
  const e2e = useE2ESuite();

  it('the Remove button in the member list disconnects the member at once', async () => {
    const owner = await (await e2e.browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    owner.setDefaultTimeout(20_000);
    const ownerLog = watchConsole(owner, 'owner');
    await owner.goto(e2e.server.url);
    await owner.getByLabel('Room name').fill('Writers at night');
    await owner.getByLabel('Your name').nth(1).fill('Ada');
    await owner.getByRole('button', { name: 'Create room' }).click();
    await owner.getByTestId('connection-status').filter({ hasText: 'Connected' }).waitFor();
    const joinCode = (await owner.getByTestId('join-code').innerText()).trim();

    const member = await (await e2e.browser.newContext()).newPage();
    member.setDefaultTimeout(20_000);
    await member.goto(`${e2e.server.url}/?join=${joinCode}`);
    await member.getByLabel('Your name').first().fill('Mallory');
    await member.getByRole('button', { name: 'Join', exact: true }).click();
    await member.getByTestId('connection-status').filter({ hasText: 'Connected' }).waitFor();

    await owner.getByRole('tab', { name: 'Dashboard' }).click();
    const list = owner.getByTestId('members');
    await list.waitFor();
    await owner.getByRole('button', { name: 'Refresh' }).first().click();
    await list.getByRole('rowheader', { name: 'Mallory' }).waitFor();
    // The owner has no Remove button of their own.
    expect(await list.getByRole('button', { name: 'Remove Ada' }).count()).toBe(0);
    await list.screenshot({ path: artifact('members.png') });
    owner.once('dialog', (dialog) => void dialog.accept());
    await list.getByRole('button', { name: 'Remove Mallory' }).click();
    await list.getByRole('rowheader', { name: 'Mallory' }).waitFor({ state: 'detached' });

    await member.getByTestId('connection-status').filter({ hasText: /removed you/ }).waitFor({ timeout: 5000 });
    await member.screenshot({ path: artifact('member-removed.png') });
    expect(ownerLog.errors).toEqual([]);
  }, 180_000);
});

