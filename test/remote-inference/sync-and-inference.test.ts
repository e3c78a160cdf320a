/**
 * A sync process (ENSEMBLE_ROLE=sync) and two inference workers (ENSEMBLE_ROLE=inference), all
 * real processes on loopback: members of a room see a proposal stream from a worker, Stop frees
 * the worker's slot (its own metrics say so), and SIGKILL of the worker mid-stream ends the
 * proposal failed for everyone, with the next request served by the other worker.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack, ProposalInfo } from '../../shared/src/index';
import { storyText } from '../../shared/src/index';
import { spawnServer, type ServerProcess } from '../helpers/index';
import { anchorAtEnd, call, connectMember, createRoom, joinRoom, typeParagraph, waitFor, type Member } from '../agent/harness';

const KEY = 'sk-worker';
// Slow decode steps, so a generation lasts long enough to stop or kill halfway.
const workerEnv = { ENSEMBLE_ROLE: 'inference', ENSEMBLE_DISABLE_AI: 'false', ENSEMBLE_API_KEYS: KEY, ENSEMBLE_DEVICE: 'cpu', ENSEMBLE_FAULT_STEP_DELAY_MS: '120' };

let workers: ServerProcess[] = [];
let sync: ServerProcess;
const dataDir = `/tmp/ensemble-sync-${process.pid}-${Date.now()}`;
const members: Member[] = [];

type Event = { name: string; payload: any };

/** A worker's own gauge and counter, read from its /metrics. */
async function workerMetric(w: ServerProcess, name: 'active' | 'aborted' | 'requests'): Promise<number> {
  const text = await (await fetch(`${w.url}/metrics`)).text();
  const lines = text.split('\n').filter((l) => !l.startsWith('#'));
  const pick = (re: RegExp) => lines.filter((l) => re.test(l)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
  if (name === 'active') return pick(/^ensemble_inference_active_sequences\{/);
  if (name === 'aborted') return pick(/^ensemble_inference_requests_total\{.*task="text-generation".*outcome="aborted"/);
  return pick(/^ensemble_inference_requests_total\{.*task="text-generation"/);
}

beforeAll(async () => {
  workers = await Promise.all([spawnServer(workerEnv, { timeoutMs: 60_000 }), spawnServer(workerEnv, { timeoutMs: 60_000 })]);
  sync = await spawnServer(
    {
      ENSEMBLE_ROLE: 'sync',
      ENSEMBLE_DISABLE_AI: 'false',
      ENSEMBLE_INFERENCE_URL: workers.map((w) => `${w.url}/v1`).join(','),
      ENSEMBLE_INFERENCE_API_KEY: KEY,
      ENSEMBLE_INFERENCE_HEALTH_MS: '500',
      ENSEMBLE_DATA_DIR: dataDir,
    },
    { timeoutMs: 60_000 },
  );
}, 120_000);

afterAll(async () => {
  for (const m of members) m.close();
  for (const p of [sync, ...workers]) {
    if (!p || p.child.exitCode !== null || p.child.signalCode !== null) continue;
    p.child.kill('SIGTERM');
    await p.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a sync process over two inference workers', () => {
  let owner: Member;
  let editor: Member;
  const events: Event[][] = [[], []];
  let anchor: string;
  const of = (m: 0 | 1, name: string, id: string) => events[m]!.filter((e) => e.name === name && e.payload.proposalId === id);
  const request = async (): Promise<ProposalInfo> => {
    const res = await call<Ack<{ proposal: ProposalInfo }>>(editor.socket, 'proposal:request', { anchor, mode: 'continue', alternatives: 1 });
    if (!res.ok) throw new Error(`proposal:request refused: ${res.error.code} ${res.error.message}`);
    return res.proposal;
  };
  /** The worker streaming right now (its active gauge is up). */
  const findBusy = async (): Promise<ServerProcess> => {
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      for (const w of workers) if (w.child.exitCode === null && (await workerMetric(w, 'active')) > 0) return w;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('no worker is running the generation');
  };

  beforeAll(async () => {
    const room = await createRoom(sync.url, 'writers-room', 'Olivia');
    const ed = await joinRoom(sync.url, room.room.joinCode, 'Ed');
    owner = await connectMember(sync.port, room.room.id, room.token, room.member.id);
    editor = await connectMember(sync.port, room.room.id, ed.token, ed.member.id);
    members.push(owner, editor);
    owner.socket.onAny((name: string, payload: unknown) => events[0]!.push({ name, payload }));
    editor.socket.onAny((name: string, payload: unknown) => events[1]!.push({ name, payload }));
    const t = typeParagraph(owner.doc, 'The lighthouse keeper climbed the stairs one last time, and');
    await waitFor(() => storyText(editor.doc).includes('lighthouse'), 10_000, 'sync');
    anchor = anchorAtEnd(t);
  }, 30_000);

  it('members see the proposal stream from a worker, and it finishes', async () => {
    const p = await request();
    await waitFor(() => of(0, 'proposal:done', p.id).length === 1 && of(1, 'proposal:done', p.id).length === 1, 60_000, 'done at both members');
    expect(of(0, 'proposal:delta', p.id).length).toBeGreaterThan(0);
    expect(of(0, 'proposal:delta', p.id).map((e) => e.payload.text).join('')).toBe(of(1, 'proposal:delta', p.id).map((e) => e.payload.text).join(''));
    expect(of(0, 'proposal:done', p.id)[0]!.payload.text.length).toBeGreaterThan(0);
  }, 90_000);

  it('Stop frees the slot on the worker (its metrics show it)', async () => {
    const p = await request();
    await waitFor(() => of(0, 'proposal:delta', p.id).length > 0, 30_000, 'first delta');
    const worker = await findBusy();
    const abortedBefore = await workerMetric(worker, 'aborted');
    expect(await call<Ack>(owner.socket, 'proposal:stop', { proposalId: p.id })).toMatchObject({ ok: true });
    await waitFor(() => of(1, 'proposal:stopped', p.id).length === 1, 10_000, 'stopped at the editor');
    const end = Date.now() + 5000;
    while ((await workerMetric(worker, 'active')) > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(await workerMetric(worker, 'active')).toBe(0);
    expect(await workerMetric(worker, 'aborted')).toBe(abortedBefore + 1);
  }, 60_000);

  it('SIGKILL of the worker mid-stream: failed for everyone within the deadline, and the next request goes to the other worker', async () => {
    const p = await request();
    await waitFor(() => of(0, 'proposal:delta', p.id).length > 0, 30_000, 'first delta');
    const victim = await findBusy();
    const survivor = workers.find((w) => w !== victim)!;
    const servedBefore = await workerMetric(survivor, 'requests');
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    await waitFor(() => of(0, 'proposal:failed', p.id).length === 1 && of(1, 'proposal:failed', p.id).length === 1, 10_000, 'failed at both members');
    expect(Date.now() - killedAt).toBeLessThan(5000);
    expect(of(1, 'proposal:failed', p.id)[0]!.payload.message).toMatch(/AI engine stopped answering/);
    expect(of(0, 'proposal:done', p.id)).toHaveLength(0);
    // The sync process's health check names the dead engine.
    const health = (await (await fetch(`${sync.url}/healthz`)).json()) as { inference: { endpoints: Array<{ url: string; up: boolean }> } };
    expect(health.inference.endpoints.find((e) => e.url === `${victim.url}/v1`)).toMatchObject({ up: false });
    expect(health.inference.endpoints.find((e) => e.url === `${survivor.url}/v1`)).toMatchObject({ up: true });

    const next = await request();
    await waitFor(() => of(0, 'proposal:done', next.id).length === 1 && of(1, 'proposal:done', next.id).length === 1, 60_000, 'the next proposal done');
    expect(of(1, 'proposal:failed', next.id)).toHaveLength(0);
    expect(await workerMetric(survivor, 'requests')).toBeGreaterThan(servedBefore);
  }, 90_000);
});
