import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { parseDocx, parsePdf } from '../exports/parse';
import { artifact, useE2ESuite, useMemberPages } from './harness';

/** Issue 13 (export menu) in real Chromium: the header's Export menu downloads with the member's token. */
describe('web client: export menu', () => {
  const e2e = useE2ESuite();
  const open = useMemberPages(e2e);

  const menuItems = async (page: Page) => {
    await page.getByTestId('export-button').click();
    await page.getByTestId('export-menu').waitFor();
    const ids = await page.locator('[data-testid=export-menu] [role=menuitem]').evaluateAll((els) => els.map((el) => el.getAttribute('data-testid')));
    return ids.map((id) => id!.replace(/^export-/, ''));
  };

  /** Picks `format` in the open menu and returns the downloaded file (Playwright's download event). */
  async function download(page: Page, format: string): Promise<{ name: string; body: Buffer }> {
    if (!(await page.getByTestId('export-menu').isVisible())) await page.getByTestId('export-button').click();
    const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(`export-${format}`).click()]);
    const path = await file.path();
    return { name: file.suggestedFilename(), body: fs.readFileSync(path) };
  }

  it('the teacher downloads the story, the storyboard sheet and the provenance report; a student sees no provenance', async () => {
    const teacher = await open('teacher');
    await teacher.page.getByLabel('Room name').fill('Export Lesson');
    await teacher.page.getByLabel('Your name').nth(1).fill('Ms Tan');
    await teacher.page.getByRole('radio', { name: /Classroom/ }).check();
    await teacher.page.getByRole('button', { name: 'Create room' }).click();
    await teacher.page.getByTestId('room').waitFor();
    await teacher.page.getByTestId('connection-status').filter({ hasText: /Connected/ }).waitFor();
    const code = (await teacher.page.getByTestId('join-code').innerText()).trim();

    await teacher.page.getByTestId('story-editor').click();
    await teacher.page.keyboard.type('The ferry left at dawn.');

    // No panels yet: no storyboard sheet on offer; the teacher of a classroom gets the report.
    expect(await menuItems(teacher.page)).toEqual(['story.md', 'story.html', 'story.docx', 'provenance.csv', 'provenance.pdf']);
    await teacher.page.keyboard.press('Escape');
    await teacher.page.getByTestId('export-menu').waitFor({ state: 'detached' });

    await teacher.page.getByRole('tab', { name: 'Storyboard' }).click();
    await teacher.page.getByTestId('add-panel').click();
    await teacher.page.getByTestId('panel-caption').first().fill('Gulls over the harbour');
    await teacher.page.getByRole('tab', { name: 'Story', exact: true }).click();

    expect(await menuItems(teacher.page)).toEqual(['story.md', 'story.html', 'story.docx', 'storyboard.pdf', 'provenance.csv', 'provenance.pdf']);
    await teacher.page.screenshot({ path: artifact('export-menu-open.png') });

    const md = await download(teacher.page, 'story.md');
    expect(md.name).toBe('export-lesson.md');
    expect(md.body.toString('utf8')).toContain('The ferry left at dawn.');

    const html = await download(teacher.page, 'story.html');
    expect(html.name).toBe('export-lesson.html');
    expect(html.body.toString('utf8')).toMatch(/<p>The ferry left at dawn\.<\/p>/);

    const docx = await download(teacher.page, 'story.docx');
    expect(docx.name).toBe('export-lesson.docx');
    expect((await parseDocx(docx.body)).text).toContain('The ferry left at dawn.');

    const sheet = await download(teacher.page, 'storyboard.pdf');
    expect(sheet.name).toBe('export-lesson-storyboard.pdf');
    expect((await parsePdf(sheet.body)).text).toContain('Gulls over the harbour');

    const csv = await download(teacher.page, 'provenance.csv');
    expect(csv.name).toBe('export-lesson-provenance.csv');
    expect(csv.body.toString('utf8')).toContain('Ms Tan');

    const report = await download(teacher.page, 'provenance.pdf');
    expect(report.name).toBe('export-lesson-provenance.pdf');
    expect((await parsePdf(report.body)).text).toContain('Ms Tan');

    // A student (an editor, not the owner) gets the story and the storyboard, never the report.
    const student = await open('student', `/?join=${code}`);
    await student.page.getByLabel('Your name').first().fill('Sam');
    await student.page.getByRole('button', { name: 'Join', exact: true }).click();
    await student.page.getByTestId('room').waitFor();
    await student.page.getByTestId('story-editor').filter({ hasText: 'The ferry left at dawn.' }).waitFor();
    expect(await menuItems(student.page)).toEqual(['story.md', 'story.html', 'story.docx', 'storyboard.pdf']);
    const studentDocx = await download(student.page, 'story.docx');
    expect((await parseDocx(studentDocx.body)).text).toContain('The ferry left at dawn.');

    expect(teacher.log.errors).toEqual([]);
    expect(student.log.errors).toEqual([]);
  }, 240_000);
});
