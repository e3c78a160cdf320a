/**
 * AI collaborator latency benchmark (prints a table; not a timed test).
 *
 *  A. one room, 50 members (stock y-websocket + socket.io each): one member asks for 3
 *     alternatives; time from the request to the first `proposal:delta` at each member.
 *  B. 20 rooms requesting at once (1 requester + 2 watchers each, 2 alternatives): time from the
 *     request to the first delta at every member of every room.
 *  C. sync latency of ordinary typing (one keystroke = one Yjs update from member X until member
 *     Y's document has it) while idle vs while the agent generates in the same room (and in 20
 *     other rooms); ratio target ≤ 1.2.
 *
 * Run: node --import tsx bench/agent-latency.ts
 */
import { performance } from 'node:perf_hooks';
import * as Y from 'yjs';
import { loadConfig } from '../server/src/config';
import { WorkerInferenceEngine } from '../server/src/inference/index';
import { storyText, type Ack, type ProposalInfo } from '@ensemble/shared';
import { anchorAtEnd, call, connectMember, createRoom, joinRoom, removeDir, startServer, typeParagraph, type Member } from '../test/agent/harness';

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');
const row = (name: string, xs: number[]): string => `| ${name} | ${xs.length} | ${fmt(quantile(xs, 0.5))} | ${fmt(quantile(xs, 0.95))} | ${fmt(Math.max(...xs))} |`;

async function firstDeltaTimes(requester: Member, watchers: Member[], anchor: string, alternatives: number): Promise<{ times: number[]; id: string }> {
  const t0 = performance.now();
  const times: number[] = [];
  let remaining = watchers.length;
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  for (const w of watchers) {
    // The proposal's id comes with `proposal:started`, which precedes its deltas on every socket.
    let id: string | null = null;
    const onStarted = (p: ProposalInfo): void => {
      if (p.requestedBy.memberId === requester.memberId && p.firstAlternative === 0) {
        id = p.id;
        w.socket.off('proposal:started', onStarted);
      }
    };
    const onDelta = (d: { proposalId: string }): void => {
      if (d.proposalId !== id) return;
      w.socket.off('proposal:delta', onDelta);
      times.push(performance.now() - t0);
      if (--remaining === 0) resolveAll();
    };
    w.socket.on('proposal:started', onStarted);
    w.socket.on('proposal:delta', onDelta);
  }
  const res = await call<Ack<{ proposal: ProposalInfo }>>(requester.socket, 'proposal:request', { anchor, mode: 'continue', alternatives });
  if (!res.ok) throw new Error(`request failed: ${JSON.stringify(res)}`);
  const id = res.proposal.id;
  let left = alternatives;
  const finished = new Promise<void>((resolve) => {
    const on = (d: { proposalId: string }): void => {
      if (d.proposalId === id && --left === 0) {
        requester.socket.off('proposal:done', on);
        resolve();
      }
    };
    requester.socket.on('proposal:done', on);
  });
  await all;
  // Wait for the generation to finish so runs do not overlap.
  await finished;
  return { times, id };
}

async function typingLatency(writer: Member, reader: Member, samples: number): Promise<number[]> {
  const text = typeParagraph(writer.doc, '');
  await new Promise((r) => setTimeout(r, 200));
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const target = `k${i};`;
    const t0 = performance.now();
    const got = new Promise<void>((resolve) => {
      const check = (): void => {
        if (storyText(reader.doc).includes(target)) {
          reader.doc.off('update', check);
          resolve();
        }
      };
      reader.doc.on('update', check);
    });
    text.insert(text.length, target);
    await got;
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 15));
  }
  return out;
}

async function main(): Promise<void> {
  process.setMaxListeners(0);
  // The engine the server runs (server/src/agent/ai-collaborator.ts): forward passes on a worker thread.
  const config = loadConfig({ LOG_LEVEL: 'silent' } as NodeJS.ProcessEnv);
  const engine = await WorkerInferenceEngine.load({
    modelsDir: config.ENSEMBLE_MODELS_DIR,
    device: 'cpu',
    maxBatch: config.ENSEMBLE_MAX_BATCH,
    maxQueue: config.ENSEMBLE_MAX_QUEUE,
    logger: { info: () => {}, warn: () => {} },
  });
  const srv = await startServer({
    engine,
    agent: { generation: { maxTokens: 32 }, limits: { maxConcurrentPerRoom: 8 }, rate: { burst: 1000, perMinute: 100000 } },
    // All 110 simulated members connect from 127.0.0.1.
    env: { ENSEMBLE_MAX_SOCKETS_PER_ADDRESS: '100000' },
  });
  const out: string[] = [];
  try {
    // A. 50 members in one room.
    const owner = await createRoom(srv.http, 'writers-room', 'Owner');
    const members: Member[] = [await connectMember(srv.port, owner.room.id, owner.token, owner.member.id)];
    for (let i = 1; i < 50; i++) {
      const j = await joinRoom(srv.http, owner.room.joinCode, `M${i}`);
      members.push(await connectMember(srv.port, owner.room.id, j.token, j.member.id));
    }
    const para = typeParagraph(members[0]!.doc, 'The lighthouse keeper climbed the stairs and looked out at the sea');
    await new Promise((r) => setTimeout(r, 300));
    const a: number[] = [];
    for (let run = 0; run < 5; run++) a.push(...(await firstDeltaTimes(members[run + 1]!, members, anchorAtEnd(para), 3)).times);

    // B. 20 rooms at once.
    const rooms: Array<{ req: Member; all: Member[]; anchor: string }> = [];
    for (let r = 0; r < 20; r++) {
      const o = await createRoom(srv.http, 'writers-room', `O${r}`);
      const all = [await connectMember(srv.port, o.room.id, o.token, o.member.id)];
      for (let k = 0; k < 2; k++) {
        const j = await joinRoom(srv.http, o.room.joinCode, `W${r}-${k}`);
        all.push(await connectMember(srv.port, o.room.id, j.token, j.member.id));
      }
      const t = typeParagraph(all[0]!.doc, `Room ${r}: the night train left the station and`);
      rooms.push({ req: all[0]!, all, anchor: '' });
      rooms[r]!.anchor = anchorAtEnd(t);
    }
    await new Promise((r) => setTimeout(r, 500));
    const b: number[] = [];
    for (let run = 0; run < 3; run++) {
      const results = await Promise.all(rooms.map((r) => firstDeltaTimes(r.req, r.all, r.anchor, 2)));
      for (const res of results) b.push(...res.times);
    }

    // C. typing latency idle vs while generating. The 50-member room and the watchers are closed
    // first: every client runs in this process, so their decoding would otherwise be measured too.
    for (const m of members) m.close();
    for (const r of rooms) for (const m of r.all.slice(1)) m.close();
    const c = await createRoom(srv.http, 'writers-room', 'Writer');
    const w = await connectMember(srv.port, c.room.id, c.token, c.member.id);
    const jr = await joinRoom(srv.http, c.room.joinCode, 'Reader');
    const rd = await connectMember(srv.port, c.room.id, jr.token, jr.member.id);
    const jq = await joinRoom(srv.http, c.room.joinCode, 'Requester');
    const req = await connectMember(srv.port, c.room.id, jq.token, jq.member.id);
    const cpara = typeParagraph(req.doc, 'The ship sailed into the fog and');
    await new Promise((r) => setTimeout(r, 300));
    const idle = await typingLatency(w, rd, 200);
    let generating = true;
    const keepBusy = async (m: Member, anchor: string): Promise<void> => {
      while (generating) await firstDeltaTimes(m, [m], anchor, 3).catch(() => new Promise((r) => setTimeout(r, 50)));
    };
    const busyLoops = [keepBusy(req, anchorAtEnd(cpara)), ...rooms.map((r) => keepBusy(r.req, r.anchor))];
    await new Promise((r) => setTimeout(r, 300));
    const busy = await typingLatency(w, rd, 200);
    generating = false;
    await Promise.all(busyLoops);
    const idle2 = await typingLatency(w, rd, 200);
    idle.push(...idle2);

    out.push(`Agent latency (real built-in models, CPU; ms; ${new Date().toISOString()})`);
    out.push('');
    out.push('| measurement | samples | p50 | p95 | max |');
    out.push('|---|---|---|---|---|');
    out.push(row('A. request → first delta, each of 50 members in one room (3 alternatives)', a));
    out.push(row('B. request → first delta, every member of 20 rooms requesting at once', b));
    out.push(row('C. typing sync latency, idle (before and after)', idle));
    out.push(row('C. typing sync latency, agent generating 3 alternatives in the same room and in each of 20 other rooms', busy));
    out.push('');
    out.push(`Typing latency ratio generating/idle: p50 ${(quantile(busy, 0.5) / quantile(idle, 0.5)).toFixed(2)}, p95 ${(quantile(busy, 0.95) / quantile(idle, 0.95)).toFixed(2)} (target ≤ 1.2)`);
    console.log(out.join('\n'));
    for (const m of [w, rd, req, ...rooms.map((r) => r.req)]) m.close();
  } finally {
    await srv.close();
    await engine.close();
    removeDir(srv.dataDir);
  }
  void Y;
  process.exit(0);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
