import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { artifact, useE2ESuite, useMemberPages } from './harness';

/** Issue 13 (assignment mode) in real Chromium: a draft per student, private to them and the teacher. */
describe('web client: classroom assignment mode', () => {
  const e2e = useE2ESuite();
  const open = useMemberPages(e2e);

  const session = async (page: Page) => JSON.parse((await page.evaluate(() => sessionStorage.getItem('ensemble.session'))) ?? '{}');
  const draftText = (page: Page) => page.getByTestId('draft-editor').innerText();

  async function joinAs(code: string, name: string) {
    const member = await open(name, `/?join=${code}`);
    await member.page.getByLabel('Your name').first().fill(name);
    await member.page.getByRole('button', { name: 'Join', exact: true }).click();
    await member.page.getByTestId('room').waitFor();
    await member.page.getByTestId('connection-status').filter({ hasText: /Connected/ }).waitFor();
    return member;
  }

  it('the teacher switches it on; two students write drafts neither sees of the other; the teacher reads both and edits one', async () => {
    const teacher = await open('teacher');
    await teacher.page.getByLabel('Room name').fill('Essay Lesson');
    await teacher.page.getByLabel('Your name').nth(1).fill('Ms Tan');
    await teacher.page.getByRole('radio', { name: /Classroom/ }).check();
    await teacher.page.getByRole('button', { name: 'Create room' }).click();
    await teacher.page.getByTestId('room').waitFor();
    const code = (await teacher.page.getByTestId('join-code').innerText()).trim();

    const ada = await joinAs(code, 'Ada');
    const ben = await joinAs(code, 'Ben');
    // Off by default: no draft switch for students.
    expect(await ada.page.getByTestId('draft-switch').count()).toBe(0);

    await teacher.page.getByRole('tab', { name: 'Classroom' }).click();
    await teacher.page.getByTestId('assignment-mode').check();
    await teacher.page.getByTestId('student-drafts').waitFor();

    // The shared story, written by the teacher, is one text for all.
    await teacher.page.getByRole('tab', { name: 'Story', exact: true }).click();
    await teacher.page.getByTestId('story-editor').click();
    await teacher.page.keyboard.type('Prompt: write about the sea.');

    for (const [student, words] of [
      [ada, 'Ada: the sea is grey in winter.'],
      [ben, 'Ben: waves broke on the pier.'],
    ] as const) {
      await student.page.getByTestId('draft-switch').waitFor();
      await student.page.getByTestId('draft-switch').getByText('My draft').click();
      await student.page.locator('[data-testid=draft][data-synced=true]').waitFor();
      await student.page.getByTestId('draft-editor').click();
      await student.page.keyboard.type(words);
    }
    expect(await draftText(ada.page)).toContain('Ada: the sea is grey in winter.');
    expect(await draftText(ada.page)).not.toContain('Ben:');
    expect(await draftText(ben.page)).toContain('Ben: waves broke on the pier.');
    expect(await draftText(ben.page)).not.toContain('Ada:');
    // Back on the shared story: the prompt, and no one's draft.
    await ada.page.getByTestId('draft-switch').getByText('Shared story').click();
    await ada.page.getByTestId('story-editor').filter({ hasText: 'Prompt: write about the sea.' }).waitFor();
    expect(await ada.page.getByTestId('story-editor').innerText()).not.toMatch(/Ada:|Ben:/);
    await ada.page.getByTestId('draft-switch').getByText('My draft').click();

    // Ben's browser cannot open Ada's draft: the server closes it with 4403.
    const adaId = (await session(ada.page)).member.id as string;
    const benToken = (await session(ben.page)).token as string;
    const refused = await ben.page.evaluate(
      ([roomPath, token]) =>
        new Promise<{ code: number; reason: string }>((resolve) => {
          const ws = new WebSocket(`ws://${location.host}/sync/${roomPath}?token=${encodeURIComponent(token)}`);
          ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
        }),
      [`${(await session(ben.page)).room.id}/draft/${adaId}`, benToken] as const,
    );
    expect(refused).toEqual({ code: 4403, reason: "a student's draft is open only to that student and the teacher" });

    // The teacher lists both students and reads each draft.
    await teacher.page.getByRole('tab', { name: 'Classroom' }).click();
    const rows = teacher.page.getByTestId('draft-student');
    await rows.filter({ hasText: 'Ada' }).waitFor();
    await rows.filter({ hasText: 'Ben' }).waitFor();
    await rows.filter({ hasText: 'Ada' }).getByTestId('open-draft-read').click();
    await teacher.page.getByTestId('draft-editor').filter({ hasText: 'Ada: the sea is grey in winter.' }).waitFor();
    expect(await teacher.page.getByTestId('draft-editor').getAttribute('contenteditable')).toBe('false');
    await rows.filter({ hasText: 'Ben' }).getByTestId('open-draft-read').click();
    await teacher.page.getByTestId('draft-editor').filter({ hasText: 'Ben: waves broke on the pier.' }).waitFor();
    expect(await draftText(teacher.page)).not.toContain('Ada:');

    // And edits Ada's: she sees the note live.
    await rows.filter({ hasText: 'Ada' }).getByTestId('open-draft-edit').click();
    await teacher.page.getByTestId('draft-editor').filter({ hasText: 'Ada: the sea' }).waitFor();
    expect(await teacher.page.getByTestId('draft-editor').getAttribute('contenteditable')).toBe('true');
    await teacher.page.getByTestId('draft-editor').click();
    await teacher.page.keyboard.press('Control+End');
    await teacher.page.keyboard.press('Enter');
    await teacher.page.keyboard.type('Teacher: lovely image.');
    await ada.page.getByTestId('draft-editor').filter({ hasText: 'Teacher: lovely image.' }).waitFor();
    expect(await draftText(ben.page)).not.toContain('Teacher: lovely image.');

    await teacher.page.getByTestId('student-drafts').screenshot({ path: artifact('assignment-mode-teacher.png') });
    await ada.page.screenshot({ path: artifact('assignment-mode-student.png') });

    for (const log of [teacher.log, ada.log, ben.log]) expect(log.errors).toEqual([]);
  }, 300_000);
});
