import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { addReply, commentsOf, createThread, encodeAnchor, readThreads, resolveThread, storyOf, threadsInDocumentOrder } from '../../shared/src/index';
import { connectClient, createRoom, joinRoom, openRaw, sleep, startServer, waitFor, type TestServer } from '../helpers/index';

/** Writes one paragraph into the story and returns anchors around `passage` in it. */
function writeParagraph(doc: Y.Doc, line: string, passage: string) {
  const p = new Y.XmlElement('paragraph');
  const text = new Y.XmlText(line);
  p.insert(0, [text]);
  storyOf(doc).push([p]);
  const at = line.indexOf(passage);
  return {
    start: encodeAnchor(Y.createRelativePositionFromTypeIndex(text, at)),
    end: encodeAnchor(Y.createRelativePositionFromTypeIndex(text, at + passage.length)),
  };
}

/** Comment threads over real websockets: the update guard lets editors write the `comments` root; viewers cannot. */
describe('comments in the room document over the sync endpoint', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { ENSEMBLE_FLUSH_MS: '10' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("an editor's thread and replies reach the other members and are stored with the room", async () => {
    const owner = await createRoom(server.url, { displayName: 'Ada' });
    const editor = await joinRoom(server.url, owner.room.joinCode, 'Ben', 'editor');
    const a = connectClient(server.syncUrl, owner.room.id, owner.token);
    const b = connectClient(server.syncUrl, owner.room.id, editor.token);
    await Promise.all([a.synced, b.synced]);

    const anchor = writeParagraph(a.doc, 'The lighthouse stayed dark.', 'stayed dark');
    const id = createThread(a.doc, { anchor, quote: 'stayed dark', author: { id: owner.member.id, name: 'Ada' }, text: 'Too bleak?' });
    await waitFor(() => readThreads(b.doc).length === 1, { message: 'thread reached B' });
    expect(threadsInDocumentOrder(b.doc)[0]!.range?.text).toBe('stayed dark');
    addReply(b.doc, id, { author: { id: editor.member.id, name: 'Ben' }, text: 'Keep it.' });
    await waitFor(() => readThreads(a.doc)[0]?.replies.length === 2, { message: 'reply reached A' });
    resolveThread(a.doc, id, { id: owner.member.id, name: 'Ada' });
    await waitFor(() => readThreads(b.doc)[0]?.resolved === true, { message: 'resolution reached B' });
    // Both connections are still open: nothing was rejected.
    expect(a.provider.wsconnected && b.provider.wsconnected).toBe(true);

    a.destroy();
    b.destroy();
    await waitFor(() => server.server.registry.peek(owner.room.id) === undefined, { message: 'room unloaded' });
    await server.server.registry.settled();
    const late = connectClient(server.syncUrl, owner.room.id, editor.token);
    await late.synced;
    expect(readThreads(late.doc).map((t) => [t.quote, t.resolved, t.replies.map((r) => r.text)])).toEqual([['stayed dark', true, ['Too bleak?', 'Keep it.']]]);
    late.destroy();
  });

  it("a viewer's comment is refused (permission denied) and reaches nobody", async () => {
    const owner = await createRoom(server.url, { displayName: 'Ada' });
    const viewer = await joinRoom(server.url, owner.room.joinCode, 'Vic', 'viewer');
    const w = connectClient(server.syncUrl, owner.room.id, owner.token);
    await w.synced;
    const anchor = writeParagraph(w.doc, 'The lighthouse stayed dark.', 'lighthouse');
    const v = connectClient(server.syncUrl, owner.room.id, viewer.token);
    await v.synced;
    await waitFor(() => v.doc.getXmlFragment('story').length === 1, { message: 'viewer synced the story' });

    // Raw viewer socket sending a comment update: answered with permission-denied.
    const raw = await openRaw(`${server.syncUrl}/${owner.room.id}?token=${viewer.token}`);
    if (raw.kind !== 'open') throw new Error('viewer refused');
    const replies: Uint8Array[] = [];
    raw.socket.on('message', (data: Buffer) => replies.push(new Uint8Array(data)));
    const scratch = new Y.Doc();
    Y.applyUpdate(scratch, Y.encodeStateAsUpdate(w.doc));
    const before = Y.encodeStateVector(scratch);
    createThread(scratch, { anchor, quote: 'lighthouse', author: { id: viewer.member.id, name: 'Vic' }, text: 'raw viewer comment' });
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, 0);
    syncProtocol.writeUpdate(enc, Y.encodeStateAsUpdate(scratch, before));
    raw.socket.send(encoding.toUint8Array(enc));
    await waitFor(() => replies.some((m) => m[0] === 2 && m[1] === 0), { message: 'permission denied reply' });

    // The stock client of a viewer comments locally (a patched client could): nobody else sees it.
    createThread(v.doc, { anchor, quote: 'lighthouse', author: { id: viewer.member.id, name: 'Vic' }, text: 'viewer comment' });
    // An editor's comment after it still flows, to the viewer too.
    createThread(w.doc, { anchor, quote: 'lighthouse', author: { id: owner.member.id, name: 'Ada' }, text: 'editor comment' });
    await waitFor(() => readThreads(v.doc).some((t) => t.replies[0]!.text === 'editor comment'), { message: 'editor comment reached the viewer' });
    await sleep(200);
    const serverDoc = server.server.registry.peek(owner.room.id)!.doc;
    expect(readThreads(serverDoc).map((t) => t.replies[0]!.text)).toEqual(['editor comment']);
    expect(readThreads(w.doc).map((t) => t.replies[0]!.text)).toEqual(['editor comment']);
    expect(commentsOf(serverDoc).size).toBe(1);
    raw.socket.close();
    w.destroy();
    v.destroy();
  });
});
