// The agent on a model folder served unchanged (a random-weight Qwen2/GQA fixture with a chat
// template, as `ENSEMBLE_TEXT_MODEL` would point at): request → the same stream at every member →
// accept. The text is noise (random weights); the path is what is under test.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storyText, type Ack, type ProposalDelta, type ProposalDone, type ProposalInfo } from '../../shared/src/index';
import { InferenceEngine } from '../../server/src/inference/index';
import { anchorAtEnd, call, connectMember, createRoom, joinRoom, removeDir, startServer, typeParagraph, waitFor, type Member, type TestServer } from './harness';

const REPO = path.resolve(import.meta.dirname, '../..');
const FOLDER = path.join(REPO, 'models/fixtures/hf/qwen2-gqa');

type Event = { name: string; payload: any };

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

    const owner = await createRoom(srv.http, 'writers-room', 'Olivia');
    const ed = await joinRoom(srv.http, owner.room.joinCode, 'Ed');
    const o = await connectMember(srv.port, owner.room.id, owner.token, owner.member.id);
    const e = await connectMember(srv.port, owner.room.id, ed.token, ed.member.id);
    members.push(o, e);
    const evs: Event[][] = [[], []];
    o.socket.onAny((name: string, payload: unknown) => evs[0]!.push({ name, payload }));
    e.socket.onAny((name: string, payload: unknown) => evs[1]!.push({ name, payload }));

    const t = typeParagraph(o.doc, 'Once upon a time there was a little dog named Max.');
    await waitFor(() => storyText(e.doc).includes('Max'), 10_000, 'sync');
    const res = await call<Ack<{ proposal: ProposalInfo }>>(e.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 2 });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.proposal.model).toBe(text.id);
    const id = res.proposal.id;
    const dones = (ev: Event[]): ProposalDone[] => ev.filter((x) => x.name === 'proposal:done' && x.payload.proposalId === id).map((x) => x.payload);
    const deltas = (ev: Event[]): ProposalDelta[] => ev.filter((x) => x.name === 'proposal:delta' && x.payload.proposalId === id).map((x) => x.payload);
    await waitFor(() => evs.every((ev) => dones(ev).length === 2), 60_000, 'both alternatives done at both members');

    expect(deltas(evs[1]!)).toEqual(deltas(evs[0]!));
    for (const d of dones(evs[0]!)) {
      expect(deltas(evs[0]!).filter((x) => x.alternative === d.alternative).map((x) => x.text).join('')).toBe(d.text);
    }
    const best = dones(evs[0]!).reduce((a, b) => (b.text.length > a.text.length ? b : a));
    expect(best.text.trim().length).toBeGreaterThan(0);
    const before = storyText(o.doc);
    expect(await call<Ack>(e.socket, 'proposal:accept', { proposalId: id, alternative: best.alternative })).toEqual({ ok: true });
    const firstWord = best.text.trim().split(/\s+/)[0]!;
    await waitFor(() => storyText(o.doc).includes(firstWord) && storyText(o.doc).length > before.length, 10_000, 'accepted text in the owner doc');
    expect(storyText(o.doc).startsWith('Once upon a time there was a little dog named Max.')).toBe(true);
  });
});
