/**
 * Bystander edit latency and server RSS with and without a hostile member, in one run.
 *
 *   node --import tsx bench/sync-hostile.ts [--edits 300] [--rate 20]
 *
 * A writer and a reader (stock y-websocket clients) share a room; the writer types one marker per
 * edit at `rate`/s and the latency is the time until the reader's document holds it. The quiet
 * phase runs alone; the hostile phase runs the same while a member of the same room sends, in a
 * loop, the attacks this server used to fall for (each now refused or bounded): a 20,000-deep
 * nesting update (~400 KB), delete sets for unknown clients at the frame limit, a delete set over
 * the writer's future clocks, updates with missing dependencies, and oversized awareness states.
 */
import { spawn } from 'node:child_process';
import { connect, createRoom, printTable, REPO_ROOT, rssOf, sleep, startEnsemble, waitUntil } from './sync-common';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const EDITS = arg('edits', 300);
const RATE = arg('rate', 20);

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

async function join(url: string, joinCode: string, displayName: string): Promise<string> {
  const res = await fetch(`${url}/api/rooms/join`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ joinCode, displayName }) });
  return ((await res.json()) as { token: string }).token;
}

async function measure(label: string, url: string, syncUrl: string, room: { roomId: string; token: string; joinCode: string }, hostile: boolean) {
  const writer = connect(syncUrl, room.roomId, { token: room.token });
  const reader = connect(syncUrl, room.roomId, { token: await join(url, room.joinCode, 'Reader') });
  await Promise.all([writer.synced, reader.synced]);
  const text = writer.doc.getText('bench');
  const seen = new Map<string, number>();
  const sentAt = new Map<string, number>();
  reader.doc.getText('bench').observe((e) => {
    for (const d of e.changes.delta) if (typeof d.insert === 'string') for (const m of d.insert.match(/<\d+>/g) ?? []) if (!seen.has(m)) seen.set(m, performance.now());
  });
  // The attacker is a process of its own, so its work does not delay the measuring clients.
  let report = { rounds: 0, bytes: 0 };
  let attacker: ReturnType<typeof spawn> | null = null;
  if (hostile) {
    const token = await join(url, room.joinCode, 'Mallory');
    attacker = spawn(process.execPath, ['--import', 'tsx', 'bench/sync-hostile-attacker.ts', syncUrl, room.roomId, token, String(writer.doc.clientID)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    attacker.stdout!.on('data', (chunk: Buffer) => {
      const last = chunk.toString().trim().split('\n').at(-1)!;
      if (last.startsWith('{')) report = JSON.parse(last) as typeof report;
    });
    await waitUntil(() => report.rounds > 0, 60_000, 'the attacker to start');
  }
  let peakRss = 0;
  const child = (globalThis as { benchPid?: number }).benchPid!;
  for (let i = 0; i < EDITS; i++) {
    const marker = `<${i}>`;
    sentAt.set(marker, performance.now());
    text.insert(text.length, marker);
    await sleep(1000 / RATE);
    peakRss = Math.max(peakRss, rssOf(child));
  }
  await waitUntil(() => seen.size >= EDITS, 30_000, 'every marker at the reader');
  attacker?.kill();
  const latencies = [...sentAt].map(([m, t]) => seen.get(m)! - t);
  writer.destroy();
  reader.destroy();
  return {
    phase: label,
    edits: EDITS,
    'p50 (ms)': percentile(latencies, 50).toFixed(1),
    'p99 (ms)': percentile(latencies, 99).toFixed(1),
    'peak RSS (MB)': (peakRss / 2 ** 20).toFixed(0),
    'attack rounds': report.rounds,
    'attack MB sent': (report.bytes / 2 ** 20).toFixed(1),
  };
}

// The per-member protections stay at their defaults (only the caps for one address are lifted).
const server = await startEnsemble({ ENSEMBLE_SYNC_CONNECTS_PER_SEC: '2' });
(globalThis as { benchPid?: number }).benchPid = server.child.pid!;
const syncUrl = `ws://127.0.0.1:${server.port}/sync`;
try {
  const quiet = await measure('quiet', server.url, syncUrl, await createRoom(server.url), false);
  const attacked = await measure('hostile member', server.url, syncUrl, await createRoom(server.url), true);
  printTable(`Bystander edit latency, ${EDITS} edits at ${RATE}/s (writer → reader, stock y-websocket clients)`, [
    quiet,
    attacked,
    { phase: 'ratio hostile/quiet', edits: '', 'p50 (ms)': (Number(attacked['p50 (ms)']) / Number(quiet['p50 (ms)'])).toFixed(2), 'p99 (ms)': (Number(attacked['p99 (ms)']) / Number(quiet['p99 (ms)'])).toFixed(2), 'peak RSS (MB)': '', 'attack rounds': '', 'attack MB sent': '' },
  ]);
} finally {
  await server.stop();
}
