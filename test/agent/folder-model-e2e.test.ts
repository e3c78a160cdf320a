// The agent on a model folder served unchanged (a random-weight Qwen2/GQA fixture with a chat
// template, as `ENSEMBLE_TEXT_MODEL` would point at): request → the same stream at every member →
// accept. The text is noise (random weights); the path is what is under test.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storyText, type Ack } from '../../shared/src/index';
import { InferenceEngine } from '../../server/src/inference/index';
import { call, removeDir, startServer, twoMemberProposal, waitFor, type Member, type TestServer } from './harness';

const REPO = path.resolve(import.meta.dirname, '../..');
const FOLDER = path.join(REPO, 'models/fixtures/hf/qwen2-gqa');

describe('AI collaborator on a Hugging Face model folder', () => {
  let engine: InferenceEngine;
  let srv: TestServer;
  const members: Member[] = [];

  beforeAll(async () => {
    engine = await InferenceEngine.load({ modelsDir: path.join(REPO, 'models'), textModel: FOLDER, device: 'cpu', maxBatch: 4, logger: { info: () => {}, warn: () => {} } });
    srv = await startServer({ engine, agent: { generation: { maxTokens: 8, instructMaxTokens: 12, deadlineMs: 60_000 } } });
  });
  afterAll(async () => {
    for (const m of members) m.close();
    await srv?.close();
    if (srv) removeDir(srv.dataDir);
    await engine?.close();
  });

  it('the folder is the room’s text model, an instruct one; its proposal streams alike to every member and is accepted', async () => {
    const text = engine.models().find((m) => m.task === 'text-generation')!;
    expect(text.instruct).toBe(true);

    const opening = 'Once upon a time there was a little dog named Max.';
    const run = await twoMemberProposal(srv, 'writers-room', opening, members);
    expect(run.proposal.model).toBe(text.id);
    const o = run.owner;
    const e = run.editor;
    const id = run.proposal.id;

    expect(run.deltas(1)).toEqual(run.deltas(0));
    for (const d of run.dones(0)) {
      expect(run.deltas(0).filter((x) => x.alternative === d.alternative).map((x) => x.text).join('')).toBe(d.text);
    }
    const best = run.dones(0).reduce((a, b) => (b.text.length > a.text.length ? b : a));
    expect(best.text.trim().length).toBeGreaterThan(0);
    const before = storyText(o.doc);
    expect(await call<Ack>(e.socket, 'proposal:accept', { proposalId: id, alternative: best.alternative })).toEqual({ ok: true });
    const firstWord = best.text.trim().split(/\s+/)[0]!;
    await waitFor(() => storyText(o.doc).includes(firstWord) && storyText(o.doc).length > before.length, 10_000, 'accepted text in the owner doc');
    expect(storyText(o.doc).startsWith(opening)).toBe(true);
  });
});
