import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AI_MARK, newPanel, panelsOf, storyOf, type RoomResponse } from '../../shared/src/index';
import { api, connectClient, createRoom, joinRoom, startServer, waitFor, type TestClient, type TestServer } from '../helpers/index';
import { encodePngRgb } from '../../server/src/inference/png';
import { parseDocx, parsePdf } from './parse';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.close();
});

function textblock(name: string, parts: Array<[string, Record<string, unknown>?]>, attrs: Record<string, string> = {}): Y.XmlElement {
  const el = new Y.XmlElement(name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  const text = new Y.XmlText();
  let at = 0;
  for (const [s, marks] of parts) {
    text.insert(at, s, marks ?? {});
    at += s.length;
  }
  el.insert(0, [text]);
  return el;
}
function wrap(name: string, children: Y.XmlElement[]): Y.XmlElement {
  const el = new Y.XmlElement(name);
  el.insert(0, children);
  return el;
}

/** A story with every block and mark the exports keep, written the way y-prosemirror stores it. */
function writeStory(doc: Y.Doc): void {
  storyOf(doc).insert(0, [
    textblock('heading', [['The Lighthouse']], { level: '1' }),
    textblock('paragraph', [['Mara climbed the '], ['spiral', { bold: {} }], [' stairs '], ['slowly', { italic: {} }], ['. '], ['The lamp hummed like a hive.', { [AI_MARK]: { proposalId: 'p1', model: 'm', acceptedBy: 'x' } }]]),
    wrap('bulletList', [wrap('listItem', [textblock('paragraph', [['a rope']])]), wrap('listItem', [textblock('paragraph', [['a lantern']])])]),
    wrap('orderedList', [wrap('listItem', [textblock('paragraph', [['first step']])])]),
    wrap('blockquote', [textblock('paragraph', [['Keep the light burning.']])]),
  ]);
}

function tinyPng(): Uint8Array {
  return encodePngRgb(new Uint8Array(4 * 4 * 3).fill(200), 4, 4);
}

async function download(path: string, token?: string): Promise<{ status: number; type: string; disposition: string; body: Buffer }> {
  const res = await fetch(server.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type') ?? '', disposition: res.headers.get('content-disposition') ?? '', body: Buffer.from(await res.arrayBuffer()) };
}

describe('exports', () => {
  let owner: RoomResponse;
  let viewer: RoomResponse;
  let client: TestClient;
  const base = () => `/api/rooms/${owner.room.id}/export`;

  beforeAll(async () => {
    owner = await createRoom(server.url, { name: 'Ünder the Lighthouse: Act 1', kind: 'classroom', displayName: 'Teacher' });
    viewer = await joinRoom(server.url, owner.room.joinCode, 'Vic', 'viewer');
    client = connectClient(server.syncUrl, owner.room.id, owner.token);
    await client.synced;
    await server.store.records.putImage({ roomId: owner.room.id, id: 'img1', mime: 'image/png', data: tinyPng(), createdAt: new Date().toISOString() });
    client.doc.transact(() => {
      writeStory(client.doc);
      panelsOf(client.doc).insert(0, [
        newPanel({ id: 'a', caption: 'Mara at the foot of the tower', shotType: 'wide', durationSec: 4, imageId: 'img1' }),
        newPanel({ id: 'b', caption: 'Her hand on the rail', shotType: 'close-up', durationSec: 2.5, imageId: '' }),
      ]);
    });
    await waitFor(() => panelsOf(server.server.registry.peek(owner.room.id)?.doc ?? new Y.Doc()).length === 2);
  });
  afterAll(() => client?.destroy());

  it('Markdown keeps headings, emphasis, lists and quotes', async () => {
    const md = await download(`${base()}/story.md`, viewer.token);
    expect(md.status).toBe(200);
    expect(md.type).toBe('text/markdown; charset=utf-8');
    expect(md.disposition).toBe('attachment; filename="under-the-lighthouse-act-1.md"');
    const text = md.body.toString('utf8');
    expect(text).toContain('# Ünder the Lighthouse: Act 1');
    expect(text).toContain('## The Lighthouse');
    expect(text).toContain('Mara climbed the **spiral** stairs *slowly*. The lamp hummed like a hive.');
    expect(text).toMatch(/^- a rope\n- a lantern$/m);
    expect(text).toMatch(/^1\. first step$/m);
    expect(text).toContain('> Keep the light burning.');
    expect(text).toContain('AI-written passages');
  });

  it('HTML marks AI text with a class and a legend', async () => {
    const html = await download(`${base()}/story.html`, owner.token);
    expect(html.type).toBe('text/html; charset=utf-8');
    expect(html.disposition).toContain('filename="under-the-lighthouse-act-1.html"');
    const text = html.body.toString('utf8');
    expect(text).toContain('<h2>The Lighthouse</h2>');
    expect(text).toContain('<strong>spiral</strong>');
    expect(text).toContain('<em>slowly</em>');
    expect(text).toContain('<span class="ai-written" title="AI-written">The lamp hummed like a hive.</span>');
    expect(text).toContain('<ul>\n<li><p>a rope</p></li>');
    expect(text).toContain('<blockquote>');
    expect(text).toMatch(/class="legend"/);
  });

  it('DOCX parses and keeps the story, headings, bold/italic, lists and AI shading', async () => {
    const docx = await download(`${base()}/story.docx`, viewer.token);
    expect(docx.status).toBe(200);
    expect(docx.type).toBe('application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    expect(docx.disposition).toContain('filename="under-the-lighthouse-act-1.docx"');
    const { xml, text } = await parseDocx(docx.body);
    expect(text).toContain('Mara climbed the spiral stairs slowly. The lamp hummed like a hive.');
    expect(text).toContain('Keep the light burning.');
    expect(xml).toContain('w:val="Heading2"');
    expect(xml).toMatch(/<w:b\/>[\s\S]*?<w:t[^>]*>spiral<\/w:t>/);
    expect(xml).toMatch(/<w:i\/>[\s\S]*?<w:t[^>]*>slowly<\/w:t>/);
    expect(xml).toMatch(/w:fill="E8F0FE"[\s\S]*?<w:t[^>]*>The lamp hummed like a hive.<\/w:t>/);
    expect(xml).toContain('<w:numPr>');
  });

  it('the storyboard PDF is a contact sheet with the image, captions, shot types and durations', async () => {
    const pdf = await download(`${base()}/storyboard.pdf`, viewer.token);
    expect(pdf.status).toBe(200);
    expect(pdf.type).toBe('application/pdf');
    expect(pdf.disposition).toBe('attachment; filename="under-the-lighthouse-act-1-storyboard.pdf"');
    const parsed = await parsePdf(pdf.body, { images: true });
    expect(parsed.text).toContain('Mara at the foot of the tower');
    expect(parsed.text).toContain('Her hand on the rail');
    expect(parsed.text).toContain('#1 · Wide · 4 s');
    expect(parsed.text).toContain('#2 · Close-up · 2.5 s');
    expect(parsed.text).toContain('No image');
    expect(parsed.text).toContain('2 panels · 6.5 s');
    expect(parsed.images).toBe(1);
  });

  it('the provenance report (CSV and PDF) is the classroom owner’s alone', async () => {
    const csv = await download(`${base()}/provenance.csv`, owner.token);
    expect(csv.status).toBe(200);
    expect(csv.type).toBe('text/csv; charset=utf-8');
    expect(csv.disposition).toBe('attachment; filename="under-the-lighthouse-act-1-provenance.csv"');
    const lines = csv.body.toString('utf8').replace(/^\ufeff/, '').trim().split('\r\n');
    expect(lines[0]).toBe('name,kind,characters,share_of_story,ai_characters_accepted,ai_share_of_own_text,characters_typed_inside_ai_text,text_requests,image_requests,accepted_requests');
    const teacher = lines.find((l) => l.startsWith('Teacher,'));
    expect(teacher?.split(',').slice(1, 4)).toEqual(['human', String('The Lighthouse'.length + 'Mara climbed the spiral stairs slowly. The lamp hummed like a hive.'.length + 'a ropea lanternfirst stepKeep the light burning.'.length), '1.0000']);

    const pdf = await download(`${base()}/provenance.pdf`, owner.token);
    expect(pdf.type).toBe('application/pdf');
    const parsed = await parsePdf(pdf.body);
    expect(parsed.text).toContain('who wrote what');
    expect(parsed.text).toMatch(/Teacher\s+human\s+\d+\s+100%/);

    for (const format of ['provenance.csv', 'provenance.pdf']) {
      const refused = await download(`${base()}/${format}`, viewer.token);
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body.toString()).error.code).toBe('forbidden');
    }
  });

  it('refuses missing, bad and other rooms’ tokens, and unknown formats', async () => {
    expect((await download(`${base()}/story.md`)).status).toBe(401);
    expect((await download(`${base()}/story.docx`, 'not-a-token')).status).toBe(401);
    const other = await createRoom(server.url, { name: 'Other' });
    expect((await download(`${base()}/story.html`, other.token)).status).toBe(403);
    const unknown = await api<{ error: { code: string } }>(server.url, 'GET', `${base()}/story.exe`, { token: owner.token });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('unknown_format');
  });

  it('a writers’ room has no provenance export; an unloaded room exports from the store', async () => {
    const room = await createRoom(server.url, { name: '!!!', kind: 'writers-room' });
    expect((await download(`/api/rooms/${room.room.id}/export/provenance.csv`, room.token)).status).toBe(404);
    const c = connectClient(server.syncUrl, room.room.id, room.token);
    await c.synced;
    storyOf(c.doc).insert(0, [textblock('paragraph', [['Stored, not loaded.']])]);
    await waitFor(() => storyOf(server.server.registry.peek(room.room.id)?.doc ?? new Y.Doc()).length === 1);
    c.destroy();
    await waitFor(() => server.server.registry.peek(room.room.id) === undefined, { timeoutMs: 15_000 });
    const md = await download(`/api/rooms/${room.room.id}/export/story.md`, room.token);
    expect(md.disposition).toBe('attachment; filename="room.md"');
    expect(md.body.toString()).toContain('Stored, not loaded.');
  });
});
