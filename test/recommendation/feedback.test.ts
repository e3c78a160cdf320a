import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack, ProposalDone, ProposalInfo, Suggestion } from '../../shared/src/index';
import { RecommendationService } from '../../server/src/recommendation/index';
import { anchorAtEnd, call, connectMember, createRoom, joinRoom, loadEngine, removeDir, startServer, typeParagraph, waitFor, type Member, type TestServer } from '../agent/harness';
import { STYLE_TEXTS } from './fakes';

describe('recommendations on the real server and store', () => {
  let srv: TestServer;
  const open: Member[] = [];
  beforeAll(async () => {
    srv = await startServer({ agent: { generation: { maxTokens: 16 } } });
  });
  afterAll(async () => {
    for (const m of open) m.close();
    await srv.close();
    removeDir(srv.dataDir);
  });

  it('votes, accepts, rejects and dismissals are stored per member with the text; rankings go to each socket', async () => {
    const owner = await createRoom(srv.http);
    const ed = await joinRoom(srv.http, owner.room.joinCode, 'Ed');
    const o = await connectMember(srv.port, owner.room.id, owner.token, owner.member.id);
    const e = await connectMember(srv.port, owner.room.id, ed.token, ed.member.id);
    open.push(o, e);
    const rankings: Array<{ proposalId: string; order: number[] }> = [];
    e.socket.on('proposal:ranking', (r) => rankings.push(r));
    const dones: ProposalDone[] = [];
    o.socket.on('proposal:done', (d) => dones.push(d));
    const t = typeParagraph(o.doc, 'The storm came in from the sea and');
    await waitFor(() => !!srv.server.registry.peek(owner.room.id) && srv.server.registry.peek(owner.room.id)!.doc.getXmlFragment('story').length > 0, 5000, 'sync');
    const r = await call<Ack<{ proposal: ProposalInfo }>>(o.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 3 });
    if (!r.ok) throw new Error(JSON.stringify(r));
    const id = r.proposal.id;
    await waitFor(() => dones.filter((d) => d.proposalId === id).length === 3 && rankings.some((x) => x.proposalId === id), 60_000, 'done + ranking');
    expect(rankings.find((x) => x.proposalId === id)!.order.sort()).toEqual([0, 1, 2]);
    const text = (alt: number): string => dones.find((d) => d.proposalId === id && d.alternative === alt)!.text;
    expect(await call(e.socket, 'proposal:vote', { proposalId: id, alternative: 0, value: -1 })).toMatchObject({ ok: true });
    expect(await call(e.socket, 'proposal:reject', { proposalId: id, alternative: 1 })).toEqual({ ok: true });
    expect(await call(e.socket, 'proposal:accept', { proposalId: id, alternative: 2 })).toEqual({ ok: true });
    const next = await call<Ack<{ suggestions: Suggestion[] }>>(e.socket, 'recommend:next', { anchor: anchorAtEnd(t) });
    if (!next.ok) throw new Error(JSON.stringify(next));
    const moves = next.suggestions.filter((s) => s.kind === 'craft-move');
    expect(moves.length).toBe(5);
    expect(await call(e.socket, 'recommend:dismiss', { suggestionId: moves[0]!.id })).toEqual({ ok: true });
    const fb = await srv.server.context.store.records.listFeedback(owner.room.id, ed.member.id);
    expect(fb.map((f) => [f.action, f.alternative, f.text])).toEqual([
      ['vote-down', 0, text(0)],
      ['reject', 1, text(1)],
      ['accept', 2, text(2)],
      ['dismiss', 0, expect.any(String)],
    ]);
    expect(fb[3]!.proposalId).toBe(moves[0]!.id);
    expect(await srv.server.context.store.records.listFeedback(owner.room.id, owner.member.id)).toEqual([]);
    const after = await call<Ack<{ suggestions: Suggestion[] }>>(e.socket, 'recommend:next', { anchor: anchorAtEnd(t) });
    expect(after.ok && after.suggestions[0]!.id).not.toBe(moves[0]!.id);
  });

  it('with the engine embeddings and the real store: a member who rejects long florid text and accepts short text sees short first after a few rounds', async () => {
    const engine = await loadEngine();
    const svc = new RecommendationService(srv.server.context.store.records, { embed: (t) => engine.embed(t) });
    const room = await createRoom(srv.http);
    const { SHORT, LONG } = STYLE_TEXTS;
    for (let round = 0; round < 3; round++) {
      await svc.record(room.room.id, 'ann', `p${round}`, 0, 'reject', LONG[round]!);
      await svc.record(room.room.id, 'ann', `p${round}`, 1, 'accept', SHORT[round]!);
    }
    const order = await svc.rank(room.room.id, 'ann', [LONG[3]!, SHORT[5]!, LONG[4]!, SHORT[6]!]);
    expect(order.slice(0, 2).sort()).toEqual([1, 3]);
    expect(await svc.rank(room.room.id, 'bob', [LONG[3]!, SHORT[5]!])).toEqual([0, 1]);
  });
});
