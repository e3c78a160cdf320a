import { describe, expect, it } from 'vitest';
import { artifact, useE2ESuite, useMemberPages } from './harness';

/** Issue 13 ("requests left") in real Chromium: a student's count comes live from the server and drops after asking. */
describe('web client: AI requests left', () => {
  const e2e = useE2ESuite();
  const open = useMemberPages(e2e);

  it('a student sees "N AI requests left" and the number goes down after a request; the teacher sees none', async () => {
    const teacher = await open('teacher');
    await teacher.page.getByLabel('Room name').fill('Quota Lesson');
    await teacher.page.getByLabel('Your name').nth(1).fill('Ms Tan');
    await teacher.page.getByRole('radio', { name: /Classroom/ }).check();
    await teacher.page.getByRole('button', { name: 'Create room' }).click();
    await teacher.page.getByTestId('room').waitFor();
    const code = (await teacher.page.getByTestId('join-code').innerText()).trim();
    const session = JSON.parse((await teacher.page.evaluate(() => sessionStorage.getItem('ensemble.session'))) ?? '{}');
    const res = await fetch(`${e2e.server.url}/api/rooms/${session.room.id}/settings`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ aiMode: 'limited', aiUsesPerMember: 3 }),
    });
    expect(res.status).toBe(200);

    const student = await open('student', `/?join=${code}`);
    await student.page.getByLabel('Your name').first().fill('Sam');
    await student.page.getByRole('button', { name: 'Join', exact: true }).click();
    await student.page.getByTestId('room').waitFor();
    await student.page.getByTestId('connection-status').filter({ hasText: /Connected/ }).waitFor();
    const left = student.page.getByTestId('requests-left');
    await left.filter({ hasText: '3 AI requests left (of 3 in this room)' }).waitFor();
    expect(await left.getAttribute('data-left')).toBe('3');

    await student.page.getByTestId('story-editor').click();
    await student.page.keyboard.type('The bus was late again.');
    await student.page.getByTestId('ai-alternatives').selectOption('1');
    await student.page.getByTestId('ai-ask').click();
    await student.page.locator('[data-testid=proposal]').first().waitFor();
    await left.filter({ hasText: '2 AI requests left (of 3 in this room)' }).waitFor();
    expect(await left.getAttribute('data-left')).toBe('2');
    await student.page.getByTestId('ai-panel').screenshot({ path: artifact('requests-left.png') });

    // The owner is exempt from the quota: no count in the teacher's panel.
    await teacher.page.getByTestId('ai-panel').waitFor();
    expect(await teacher.page.getByTestId('requests-left').count()).toBe(0);

    expect(teacher.log.errors).toEqual([]);
    expect(student.log.errors).toEqual([]);
  }, 240_000);
});
