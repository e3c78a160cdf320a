// The agent on an instruct model (the built-in model's folder with a chat template): a classroom
// member's request goes to the engine as chat messages, streams the same cleaned text to every
// member, and is accepted into the story.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storyText, type Ack } from '../../shared/src/index';
import { InferenceEngine, type GenerateRequest, type Inference } from '../../server/src/inference/index';
import { CLASSROOM_SAFETY_SHORT } from '../../server/src/agent/chat-prompt';
import { instructModelsDir } from '../inference/helpers';
import { call, removeDir, startServer, twoMemberProposal, waitFor, type Member, type TestServer } from './harness';

describe('AI collaborator on an instruct model', () => {
  let engine: InferenceEngine;
  let srv: TestServer;
  const requests: GenerateRequest[] = [];
  const members: Member[] = [];

  beforeAll(async () => {
    engine = await InferenceEngine.load({ modelsDir: instructModelsDir(), device: 'cpu', maxBatch: 4, logger: { info: () => {}, warn: () => {} } });
    // The real engine, with each request recorded on its way in.
    const recording: Inference = {
      device: engine.device,
      models: () => engine.models(),
      embed: (t, o) => engine.embed(t, o),
      generateImage: (r) => engine.generateImage(r),
      close: async () => {},
      generate: (req) => (requests.push(req), engine.generate(req)),
    };
    srv = await startServer({ engine: recording, agent: { generation: { maxTokens: 16, instructMaxTokens: 24, deadlineMs: 60_000 } } });
  });
  afterAll(async () => {
    for (const m of members) m.close();
    await srv?.close();
    if (srv) removeDir(srv.dataDir);
    await engine?.close();
  });

  it('request → chat messages with the classroom rules → the same stream at every member → accept', async () => {
    const run = await twoMemberProposal(srv, 'classroom', 'Once upon a time there was a little dog named Max.', members);
    const [o, e] = [run.owner, run.editor];
    const id = run.proposal.id;

    const sent = requests.at(-1)!;
    expect(sent.messages?.map((m) => m.role)).toEqual(['system', 'user']);
    // The built-in model's 256-token context gets the short wording of the role and the rules.
    expect(sent.messages![0]!.content).toContain(CLASSROOM_SAFETY_SHORT);
    expect(sent.messages![1]!.content).toContain('Text before the cursor:\nOnce upon a time there was a little dog named Max.');
    expect(sent.stop).toEqual([]);
    expect(sent.maxTokens).toBe(24);

    expect(run.deltas(1)).toEqual(run.deltas(0));
    for (const d of run.dones(0)) {
      expect(run.deltas(0).filter((x) => x.alternative === d.alternative).map((x) => x.text).join('')).toBe(d.text);
      expect(d.text).toBe(d.text.trim());
    }
    const best = run.dones(0).reduce((a, b) => (b.text.length > a.text.length ? b : a));
    expect(best.text.length).toBeGreaterThan(0);
    expect(await call<Ack>(e.socket, 'proposal:accept', { proposalId: id, alternative: best.alternative })).toEqual({ ok: true });
    const flat = best.text.replace(/\s*\n+\s*/g, ' ');
    await waitFor(() => storyText(o.doc).includes(flat), 10_000, 'accepted text in the owner doc');
    expect(storyText(o.doc).startsWith('Once upon a time there was a little dog named Max.')).toBe(true);
  });
});
