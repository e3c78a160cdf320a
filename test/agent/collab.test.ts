import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { io } from 'socket.io-client';
import {
  AI_MARK,
  COLLAB_NAMESPACE,
  newPanel,
  panelsOf,
  readPanel,
  storyOf,
  storyText,
  type Ack,
  type ProposalDelta,
  type ProposalDone,
  type ProposalInfo,
  type ProvenanceReport,
  type RoomResponse,
} from '../../shared/src/index';
import {
  anchorAtEnd,
  api,
  call,
  connectMember,
  createRoom,
  joinRoom,
  removeDir,
  startServer,
  typeParagraph,
  waitFor,
  type Member,
  type TestServer,
} from './harness';

type Event = { name: string; payload: any };

function record(m: Member): Event[] {
  const events: Event[] = [];
  m.socket.onAny((name: string, payload: unknown) => events.push({ name, payload }));
  return events;
}

function deltasOf(events: Event[], proposalId: string): ProposalDelta[] {
  return events.filter((e) => e.name === 'proposal:delta' && e.payload.proposalId === proposalId).map((e) => e.payload as ProposalDelta);
}

function donesOf(events: Event[], proposalId: string): ProposalDone[] {
  return events.filter((e) => e.name === 'proposal:done' && e.payload.proposalId === proposalId).map((e) => e.payload as ProposalDone);
}

function aiRuns(doc: Y.Doc): Array<{ text: string; attrs: any }> {
  const out: Array<{ text: string; attrs: any }> = [];
  const walk = (n: Y.XmlFragment | Y.XmlElement): void => {
    for (const c of n.toArray()) {
      if (c instanceof Y.XmlText) {
        for (const d of c.toDelta() as Array<{ insert: string; attributes?: Record<string, unknown> }>) {
          if (d.attributes?.[AI_MARK]) out.push({ text: d.insert, attrs: d.attributes[AI_MARK] });
        }
      } else if (c instanceof Y.XmlElement) walk(c);
    }
  };
  walk(storyOf(doc));
  return out;
}

const GEN = { maxTokens: 20, deadlineMs: 60_000 };

describe('AI collaborator over /collab (real server, y-websocket and socket.io clients)', () => {
  let srv: TestServer;
  const members: Member[] = [];
  const member = async (room: RoomResponse, opts: { sync?: boolean } = {}): Promise<Member> => {
    const m = await connectMember(srv.port, room.room.id, room.token, room.member.id, opts);
    members.push(m);
    return m;
  };

  beforeAll(async () => {
    srv = await startServer({ agent: { generation: GEN, limits: { maxConcurrentPerRoom: 4 }, rate: { burst: 6, perMinute: 20 } } });
  });
  afterAll(async () => {
    for (const m of members) m.close();
    await srv.close();
    removeDir(srv.dataDir);
  });

  it('three members: same deltas in order, vote, editor accepts, text with attribution everywhere, persisted, provenance', async () => {
    const owner = await createRoom(srv.http, 'writers-room', 'Olivia');
    const ed = await joinRoom(srv.http, owner.room.joinCode, 'Ed');
    const fay = await joinRoom(srv.http, owner.room.joinCode, 'Fay');
    const [o, e, f] = [await member(owner), await member(ed), await member(fay)];
    const evs = [record(o), record(e), record(f)];

    // The agent is present in everybody's awareness.
    await waitFor(() => [...e.provider.awareness.getStates().values()].some((s) => s.user?.agent), 10_000, 'agent presence');
    const agentState = [...f.provider.awareness.getStates().values()].find((s) => s.user?.agent);
    expect(agentState?.user).toMatchObject({ name: 'Ensemble AI', agent: { state: 'idle' } });

    const t = typeParagraph(o.doc, 'The lighthouse keeper climbed the stairs');
    await waitFor(() => storyText(e.doc).includes('keeper') && storyText(f.doc).includes('keeper'), 10_000, 'sync');

    const res = await call<Ack<{ proposal: ProposalInfo }>>(e.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 3 });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const id = res.proposal.id;
    expect(res.proposal).toMatchObject({ kind: 'text', alternatives: 3, requestedBy: { memberId: ed.member.id, displayName: 'Ed' }, status: 'streaming' });
    await waitFor(() => evs.every((ev) => donesOf(ev, id).length === 3), 60_000, 'all alternatives done at every member');

    const reference = deltasOf(evs[0]!, id);
    expect(reference.length).toBeGreaterThan(0);
    for (const ev of evs) {
      expect(ev.find((x) => x.name === 'proposal:started')?.payload.id).toBe(id);
      expect(deltasOf(ev, id)).toEqual(reference);
      const startedAt = ev.findIndex((x) => x.name === 'proposal:started');
      const firstDelta = ev.findIndex((x) => x.name === 'proposal:delta');
      expect(startedAt).toBeLessThan(firstDelta);
    }
    const dones = donesOf(evs[0]!, id);
    for (let alt = 0; alt < 3; alt++) {
      const ds = reference.filter((d) => d.alternative === alt);
      expect(ds.map((d) => d.seq)).toEqual(ds.map((_, i) => i));
      expect(ds.map((d) => d.text).join('')).toBe(dones.find((d) => d.alternative === alt)!.text);
    }
    // Each member got a personal ranking of the three.
    await waitFor(() => evs.every((ev) => ev.some((x) => x.name === 'proposal:ranking' && x.payload.proposalId === id)), 10_000, 'rankings');

    const best = dones.reduce((a, b) => (b.text.trim().length > a.text.trim().length ? b : a)).alternative;
    const vote = await call<Ack<{ tally: any }>>(f.socket, 'proposal:vote', { proposalId: id, alternative: best, value: 1 });
    expect(vote).toMatchObject({ ok: true, tally: { proposalId: id, alternative: best, up: 1, down: 0 } });
    await waitFor(() => evs.every((ev) => ev.some((x) => x.name === 'proposal:voted' && x.payload.up === 1)), 5000, 'tally broadcast');

    const acc = await call<Ack>(e.socket, 'proposal:accept', { proposalId: id, alternative: best });
    expect(acc).toEqual({ ok: true });
    const text = dones.find((d) => d.alternative === best)!.text.trim();
    for (const m of [o, e, f]) {
      await waitFor(() => aiRuns(m.doc).length > 0, 10_000, 'accepted text in every doc');
      const runs = aiRuns(m.doc);
      expect(runs[0]!.text.trim()).toBe(text.replace(/\s*\n+\s*/g, ' '));
      expect(runs[0]!.attrs).toEqual({ proposalId: id, model: res.proposal.model, acceptedBy: ed.member.id });
      expect(storyText(m.doc).startsWith('The lighthouse keeper climbed the stairs')).toBe(true);
    }
    await waitFor(() => evs.every((ev) => ev.some((x) => x.name === 'proposal:accepted' && x.payload.acceptedBy === ed.member.id)), 5000, 'accepted broadcast');
    const again = await call<Ack>(o.socket, 'proposal:accept', { proposalId: id, alternative: 0 });
    expect(again).toMatchObject({ ok: false, error: { code: 'conflict' } });

    const prov = await api<ProvenanceReport>(srv.http, 'GET', `/api/rooms/${owner.room.id}/provenance`, undefined, fay.token);
    expect(prov.status).toBe(200);
    const agentRow = prov.body.authors.find((a) => a.kind === 'agent')!;
    expect(agentRow.chars).toBe(aiRuns(o.doc)[0]!.text.length);
    expect(prov.body.authors.find((a) => a.memberId === owner.member.id)!.chars).toBe('The lighthouse keeper climbed the stairs'.length);
    expect(prov.body.ai.acceptedBy).toEqual([{ memberId: ed.member.id, displayName: 'Ed', chars: agentRow.chars, proposals: 1 }]);
    expect(prov.body.requests).toEqual([{ memberId: ed.member.id, displayName: 'Ed', text: 1, image: 0, accepted: 1 }]);
    expect((await api(srv.http, 'GET', `/api/rooms/${owner.room.id}/provenance`)).status).toBe(401);
    const other = await createRoom(srv.http);
    expect((await api(srv.http, 'GET', `/api/rooms/${owner.room.id}/provenance`, undefined, other.token)).status).toBe(403);

    // Restart on the same data directory: the text and its attribution are still there.
    const expected = storyText(o.doc);
    for (const m of [o, e, f]) m.close();
    members.length = 0;
    await srv.close();
    srv = await startServer({ dataDir: srv.dataDir, agent: { generation: GEN, limits: { maxConcurrentPerRoom: 4 }, rate: { burst: 6, perMinute: 20 } } });
    const fresh = await member(owner);
    expect(storyText(fresh.doc)).toBe(expected);
    expect(aiRuns(fresh.doc)[0]!.attrs).toEqual({ proposalId: id, model: res.proposal.model, acceptedBy: ed.member.id });
    const prov2 = await api<ProvenanceReport>(srv.http, 'GET', `/api/rooms/${owner.room.id}/provenance`, undefined, owner.token);
    expect(prov2.body.authors.find((a) => a.kind === 'agent')!.chars).toBe(agentRow.chars);
    expect(prov2.body.ai.acceptedBy[0]).toMatchObject({ memberId: ed.member.id, chars: agentRow.chars });
  });

  it('stop mid-stream frees the slots; a full room answers busy', async () => {
    const owner = await createRoom(srv.http);
    const o = await member(owner);
    const ev = record(o);
    const t = typeParagraph(o.doc, 'Once upon a time');
    await waitFor(() => srv.server.registry.peek(owner.room.id) !== undefined && storyText(srv.server.registry.peek(owner.room.id)!.doc).length > 0, 5000, 'sync');
    const a = await call<Ack<{ proposal: ProposalInfo }>>(o.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 4 });
    expect(a.ok).toBe(true);
    if (!a.ok) return;
    const busy = await call<Ack>(o.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 1 });
    expect(busy).toMatchObject({ ok: false, error: { code: 'busy' } });
    await waitFor(() => deltasOf(ev, a.proposal.id).length > 0 || donesOf(ev, a.proposal.id).length === 4, 30_000, 'first delta');
    const stop = await call<Ack>(o.socket, 'proposal:stop', { proposalId: a.proposal.id });
    if (donesOf(ev, a.proposal.id).length < 4) {
      expect(stop).toEqual({ ok: true });
      await waitFor(() => donesOf(ev, a.proposal.id).length === 4, 5000, 'stopped alternatives done');
      expect(donesOf(ev, a.proposal.id).some((d) => d.finishReason === 'stopped')).toBe(true);
      expect(ev.some((x) => x.name === 'proposal:stopped')).toBe(true);
    }
    expect(srv.agent.roomAgent(owner.room.id)!.activeGenerations).toBe(0);
    const b = await call<Ack<{ proposal: ProposalInfo }>>(o.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 4 });
    expect(b.ok).toBe(true);
    if (b.ok) await call(o.socket, 'proposal:stop', { proposalId: b.proposal.id });
  });

  it('anchor deleted before accept → anchor_deleted; regenerate keeps earlier alternatives', async () => {
    const owner = await createRoom(srv.http);
    const o = await member(owner);
    const ev = record(o);
    typeParagraph(o.doc, 'First paragraph stays.');
    const t = typeParagraph(o.doc, 'This paragraph will go');
    const r = await call<Ack<{ proposal: ProposalInfo }>>(o.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 1 });
    if (!r.ok) throw new Error(JSON.stringify(r));
    await waitFor(() => donesOf(ev, r.proposal.id).length === 1, 30_000, 'done');
    const regen = await call<Ack<{ proposal: ProposalInfo }>>(o.socket, 'proposal:regenerate', { proposalId: r.proposal.id, alternatives: 2 });
    expect(regen).toMatchObject({ ok: true, proposal: { id: r.proposal.id, alternatives: 3, firstAlternative: 1 } });
    await waitFor(() => donesOf(ev, r.proposal.id).length === 3, 30_000, 'regenerated');
    expect(donesOf(ev, r.proposal.id).map((d) => d.alternative).sort()).toEqual([0, 1, 2]);
    const alt = donesOf(ev, r.proposal.id).find((d) => d.text.trim())!.alternative;
    storyOf(o.doc).delete(1, 1);
    await waitFor(() => !storyText(srv.server.registry.peek(owner.room.id)!.doc).includes('will go'), 5000, 'delete synced');
    const acc = await call<Ack>(o.socket, 'proposal:accept', { proposalId: r.proposal.id, alternative: alt });
    expect(acc).toMatchObject({ ok: false, error: { code: 'anchor_deleted' } });
    expect(storyText(o.doc)).toBe('First paragraph stays.');
  });

  it('viewers can watch but not request, vote, accept; unknown ids and malformed payloads get clear errors', async () => {
    const owner = await createRoom(srv.http);
    const viewer = await joinRoom(srv.http, owner.room.joinCode, 'Vic', 'viewer');
    const o = await member(owner);
    const v = await member(viewer);
    const vev = record(v);
    const t = typeParagraph(o.doc, 'A viewer watches');
    await waitFor(() => storyText(v.doc).length > 0, 5000, 'sync');
    expect(await call(v.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 1 })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const r = await call<Ack<{ proposal: ProposalInfo }>>(o.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 1 });
    if (!r.ok) throw new Error(JSON.stringify(r));
    await waitFor(() => donesOf(vev, r.proposal.id).length === 1, 30_000, 'viewer sees the stream');
    expect(await call(v.socket, 'proposal:vote', { proposalId: r.proposal.id, alternative: 0, value: 1 })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await call(v.socket, 'proposal:accept', { proposalId: r.proposal.id, alternative: 0 })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await call(v.socket, 'image:request', { panelId: 'p1', count: 1 })).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    expect(await call(o.socket, 'proposal:accept', { proposalId: 'no-such-proposal', alternative: 0 })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await call(o.socket, 'proposal:vote', { proposalId: r.proposal.id, alternative: 3, value: 1 })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    for (const bad of [undefined, null, 42, 'x', {}, { anchor: 'not base64!', mode: 'continue', alternatives: 1 }, { anchor: anchorAtEnd(t), mode: 'sing', alternatives: 1 }, { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 9 }, { anchor: 'AAAA'.repeat(2000), mode: 'continue', alternatives: 1 }]) {
      const res = await call<Ack>(o.socket, 'proposal:request', bad);
      expect(res).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
      if (!res.ok) expect(res.error.message.length).toBeGreaterThan(0);
    }
    expect(await call(o.socket, 'proposal:request', { anchor: 'AAAA', mode: 'continue', alternatives: 1 })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(await call(o.socket, 'proposal:vote', { proposalId: r.proposal.id, alternative: 0, value: 5 })).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    // No ack callback: the failure still comes back, as collab:error.
    const oev = record(o);
    (o.socket.emit as (ev: string, p: unknown) => void)('proposal:accept', { proposalId: 42 });
    await waitFor(() => oev.some((x) => x.name === 'collab:error'), 5000, 'collab:error');
    expect(oev.find((x) => x.name === 'collab:error')!.payload).toMatchObject({ event: 'proposal:accept', code: 'invalid_payload' });

    // Bad tokens cannot connect.
    for (const auth of [{}, { token: 'forged.token.value' }]) {
      const s = io(`http://127.0.0.1:${srv.port}${COLLAB_NAMESPACE}`, { auth, transports: ['websocket'], forceNew: true, reconnection: false });
      const err = await new Promise<Error & { data?: any }>((resolve) => s.once('connect_error', resolve));
      expect(err.data).toMatchObject({ code: 'forbidden' });
      s.close();
    }
    // Late joiners can list live proposals.
    const list = await call<Ack<{ proposals: any[] }>>(v.socket, 'proposal:list', {});
    expect(list.ok && list.proposals.some((p) => p.proposal.id === r.proposal.id && p.alternatives[0].done)).toBe(true);
  });

  it('a flood from one member is rate-limited while another room still completes', async () => {
    const a = await createRoom(srv.http);
    const b = await createRoom(srv.http);
    const ma = await member(a);
    const mb = await member(b);
    const evb = record(mb);
    const ta = typeParagraph(ma.doc, 'Flooding room');
    const tb = typeParagraph(mb.doc, 'Calm room');
    await waitFor(() => !!srv.server.registry.peek(a.room.id) && !!srv.server.registry.peek(b.room.id) && storyText(srv.server.registry.peek(b.room.id)!.doc).length > 0 && storyText(srv.server.registry.peek(a.room.id)!.doc).length > 0, 5000, 'sync');
    const flood = await Promise.all(Array.from({ length: 30 }, () => call<Ack<{ proposal: ProposalInfo }>>(ma.socket, 'proposal:request', { anchor: anchorAtEnd(ta), mode: 'continue', alternatives: 1 })));
    const codes = flood.map((r) => (r.ok ? 'ok' : r.error.code));
    expect(codes.filter((c) => c === 'rate_limited').length).toBeGreaterThan(15);
    expect(codes.every((c) => ['ok', 'rate_limited', 'busy'].includes(c))).toBe(true);
    const rb = await call<Ack<{ proposal: ProposalInfo }>>(mb.socket, 'proposal:request', { anchor: anchorAtEnd(tb), mode: 'continue', alternatives: 2 });
    expect(rb.ok).toBe(true);
    if (rb.ok) await waitFor(() => donesOf(evb, rb.proposal.id).length === 2, 60_000, 'other room completes');
    expect(donesOf(evb, (rb as any).proposal.id).every((d) => d.finishReason !== 'stopped')).toBe(true);
  });

  it('room settings: AI off, limited uses per member', async () => {
    const owner = await createRoom(srv.http, 'classroom', 'Teacher');
    const student = await joinRoom(srv.http, owner.room.joinCode, 'Sam');
    const s = await member(student);
    const t = typeParagraph(s.doc, 'My story');
    await waitFor(() => !!srv.server.registry.peek(owner.room.id) && storyText(srv.server.registry.peek(owner.room.id)!.doc).length > 0, 5000, 'sync');
    const patch = async (body: Record<string, unknown>): Promise<void> => {
      // Every member hears the new settings at once, and the agent applies them from then on.
      const changed = new Promise<unknown>((resolve) => s.socket.once('settings:changed', resolve));
      const r = await api(srv.http, 'PATCH', `/api/rooms/${owner.room.id}/settings`, body, owner.token);
      expect(r.status).toBe(200);
      expect(await changed).toMatchObject(body);
    };
    await patch({ aiMode: 'off' });
    expect(await call(s.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 1 })).toMatchObject({ ok: false, error: { code: 'ai_disabled' } });
    await patch({ aiMode: 'limited', aiUsesPerMember: 1 });
    const first = await call<Ack<{ proposal: ProposalInfo }>>(s.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 1 });
    expect(first.ok).toBe(true);
    expect(await call(s.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 1 })).toMatchObject({ ok: false, error: { code: 'quota_exhausted' } });
  });

  it('storyboard: image proposal for a panel → accepted → served with caching headers and a token check', async () => {
    const owner = await createRoom(srv.http, 'storyboard');
    const o = await member(owner);
    const ev = record(o);
    o.doc.transact(() => panelsOf(o.doc).push([newPanel({ id: 'panel-1', caption: 'a cat under the moon', shotType: 'wide', durationSec: 3, imageId: '' })]));
    await waitFor(() => !!srv.server.registry.peek(owner.room.id) && panelsOf(srv.server.registry.peek(owner.room.id)!.doc).length === 1, 5000, 'panel synced');
    expect(await call(o.socket, 'image:request', { panelId: 'nope', count: 2 })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const r = await call<Ack<{ proposal: ProposalInfo }>>(o.socket, 'image:request', { panelId: 'panel-1', count: 2 });
    expect(r).toMatchObject({ ok: true, proposal: { kind: 'image', panelId: 'panel-1', alternatives: 2 } });
    if (!r.ok) return;
    await waitFor(() => ev.some((x) => x.name === 'image:proposed'), 60_000, 'images proposed');
    const proposed = ev.find((x) => x.name === 'image:proposed')!.payload;
    expect(proposed.images).toHaveLength(2);
    const url: string = proposed.images[1].url;
    expect(url).toBe(`/api/rooms/${owner.room.id}/images/${proposed.images[1].imageId}`);

    const img = await fetch(`${srv.http}${url}`, { headers: { authorization: `Bearer ${owner.token}` } });
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/png');
    expect(img.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    const etag = img.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    const bytes = new Uint8Array(await img.arrayBuffer());
    expect([...bytes.slice(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect((await fetch(`${srv.http}${url}?token=${owner.token}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${srv.http}${url}`)).status).toBe(401);
    expect((await fetch(`${srv.http}${url}`, { headers: { authorization: 'Bearer forged' } })).status).toBe(401);
    const other = await createRoom(srv.http);
    expect((await fetch(`${srv.http}${url}`, { headers: { authorization: `Bearer ${other.token}` } })).status).toBe(403);
    expect((await fetch(`${srv.http}/api/rooms/${owner.room.id}/images/unknown`, { headers: { authorization: `Bearer ${owner.token}` } })).status).toBe(404);

    expect(await call(o.socket, 'image:accept', { proposalId: r.proposal.id, alternative: 1 })).toEqual({ ok: true });
    await waitFor(() => readPanel(panelsOf(o.doc).get(0)).imageId === proposed.images[1].imageId, 5000, 'panel image set');
    expect(ev.some((x) => x.name === 'image:accepted' && x.payload.imageId === proposed.images[1].imageId)).toBe(true);
  });

  it('moderation in a classroom drops filtered output with a reason', async () => {
    // The commonest words, so that sampled text all but surely contains one (four alternatives of 8–20 tokens).
    const common = ['the', 'a', 'and', 'of', 'to', 'was', 'he', 'she', 'it', 'in', 'i', 'you', 'they', 'her', 'his', 'on', 'at', 'for', 'with', 'as', 'but', 'not', 'be', 'had', 'said', 'so', 'all', 'there', 'them', 'we', 'him', 'is', 'were', 'that', 'this', 'up', 'out', 'by'];
    const modSrv = await startServer({ agent: { generation: GEN, blocklist: common } });
    try {
      const owner = await createRoom(modSrv.http, 'classroom');
      const o = await connectMember(modSrv.port, owner.room.id, owner.token, owner.member.id);
      const ev = record(o);
      const t = typeParagraph(o.doc, 'The children went to the woods and');
      await waitFor(() => !!modSrv.server.registry.peek(owner.room.id) && storyText(modSrv.server.registry.peek(owner.room.id)!.doc).length > 0, 5000, 'sync');
      const r = await call<Ack<{ proposal: ProposalInfo }>>(o.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 4 });
      if (!r.ok) throw new Error(JSON.stringify(r));
      await waitFor(() => donesOf(ev, r.proposal.id).length === 4, 60_000, 'done');
      const dones = donesOf(ev, r.proposal.id);
      expect(dones.some((d) => d.finishReason === 'filtered')).toBe(true);
      for (const d of dones.filter((x) => x.finishReason === 'filtered')) {
        expect(d.text).toBe('');
        expect(d.reason).toMatch(/blocklist/);
        const streamed = deltasOf(ev, r.proposal.id).filter((x) => x.alternative === d.alternative).map((x) => x.text).join('');
        expect(/\b(the|and|was)\b/i.test(streamed)).toBe(false);
        expect(await call(o.socket, 'proposal:accept', { proposalId: r.proposal.id, alternative: d.alternative })).toMatchObject({ ok: false, error: { code: 'conflict' } });
      }
      o.close();
    } finally {
      await modSrv.close();
      removeDir(modSrv.dataDir);
    }
  });
});

describe('auto mode', () => {
  it('after the authors pause, the agent offers one continuation (rate-limited)', async () => {
    const srv = await startServer({ agent: { generation: GEN, limits: { autoMinIntervalSec: 60 } } });
    try {
      const owner = await createRoom(srv.http);
      const r = await api(srv.http, 'PATCH', `/api/rooms/${owner.room.id}/settings`, { autoMode: true, autoPauseSec: 2 }, owner.token);
      expect(r.status).toBe(200);
      const o = await connectMember(srv.port, owner.room.id, owner.token, owner.member.id);
      const ev = record(o);
      await new Promise((res) => setTimeout(res, 1100));
      const t = typeParagraph(o.doc, 'The wind rose over the hills');
      t.insert(t.length, ' and');
      await waitFor(() => ev.some((x) => x.name === 'proposal:started'), 10_000, 'auto offer');
      const started = ev.find((x) => x.name === 'proposal:started')!.payload as ProposalInfo;
      expect(started).toMatchObject({ mode: 'continue', alternatives: 1, requestedBy: { memberId: 'ensemble-agent' } });
      await waitFor(() => donesOf(ev, started.id).length === 1, 30_000, 'auto done');
      // Typing again and pausing does not produce a second offer within the minimum interval.
      t.insert(t.length, ' more');
      await new Promise((res) => setTimeout(res, 3000));
      expect(ev.filter((x) => x.name === 'proposal:started')).toHaveLength(1);
      o.close();
    } finally {
      await srv.close();
      removeDir(srv.dataDir);
    }
  });
});

describe('room lifecycle', () => {
  it('generations are cancelled when the room empties', async () => {
    const srv = await startServer({ agent: { generation: { maxTokens: 200, stop: [] } } });
    try {
      const owner = await createRoom(srv.http);
      const o = await connectMember(srv.port, owner.room.id, owner.token, owner.member.id);
      const ev = record(o);
      const t = typeParagraph(o.doc, 'It was a long night and');
      await waitFor(() => !!srv.server.registry.peek(owner.room.id) && storyText(srv.server.registry.peek(owner.room.id)!.doc).length > 0, 5000, 'sync');
      const r = await call<Ack<{ proposal: ProposalInfo }>>(o.socket, 'proposal:request', { anchor: anchorAtEnd(t), mode: 'continue', alternatives: 3 });
      if (!r.ok) throw new Error(JSON.stringify(r));
      await waitFor(() => deltasOf(ev, r.proposal.id).length > 0, 30_000, 'streaming');
      const agent = srv.agent.roomAgent(owner.room.id)!;
      if (donesOf(ev, r.proposal.id).length === 3) return; // the model finished before we could leave
      expect(agent.activeGenerations).toBeGreaterThan(0);
      o.close();
      await waitFor(() => agent.activeGenerations === 0, 5000, 'generations cancelled');
      const stored = (await srv.server.context.store.records.listProposals(owner.room.id, 100_000)).find((p) => p.id === r.proposal.id);
      expect(stored?.status).toMatch(/stopped|ready/);
    } finally {
      await srv.close();
      removeDir(srv.dataDir);
    }
  });
});
