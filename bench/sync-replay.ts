/**
 * B4 replay: automerge-paper.json.gz, one writer + five readers (stock y-websocket clients), one
 * Yjs update per op, through Ensemble (SQLite storage on) and through the bare
 * @y/websocket-server 0.1.1, each in its own child process. Prints both times and the ratio and
 * checks every reader ends with `endContent`.
 *
 *   node --import tsx bench/sync-replay.ts [--runs 2] [--ops N]
 */
import { TEXT, applyPatch, connect, createRoom, loadTrace, printTable, startBare, startEnsemble, tick, waitUntil, type Client } from './sync-common';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const RUNS = arg('runs', 2);
const READERS = 5;
const trace = loadTrace('automerge-paper');
const ops = trace.txns.flatMap((t) => t.patches);
const OPS = Math.min(arg('ops', ops.length), ops.length);

async function replay(serverUrl: string, room: string, params: Record<string, string>): Promise<{ ms: number; ok: boolean }> {
  const writer = connect(serverUrl, room, params);
  const readers: Client[] = Array.from({ length: READERS }, () => connect(serverUrl, room, params));
  await Promise.all([writer.synced, ...readers.map((r) => r.synced)]);
  // The expected text when only a prefix of the trace is replayed.
  let expected = trace.endContent;
  if (OPS < ops.length) {
    const scratch = new (await import('yjs')).Doc();
    for (let i = 0; i < OPS; i++) applyPatch(scratch.getText(TEXT), ops[i]!);
    expected = scratch.getText(TEXT).toString();
  }
  const text = writer.doc.getText(TEXT);
  const started = performance.now();
  for (let i = 0; i < OPS; i++) {
    writer.doc.transact(() => applyPatch(text, ops[i]!));
    if (i % 1000 === 999) await tick();
  }
  await waitUntil(() => readers.every((r) => r.doc.getText(TEXT).length === expected.length), 300_000, 'readers to receive every op');
  const ms = performance.now() - started;
  const ok = text.toString() === expected && readers.every((r) => r.doc.getText(TEXT).toString() === expected);
  writer.destroy();
  for (const r of readers) r.destroy();
  return { ms, ok };
}

async function runEnsemble(run: number) {
  const server = await startEnsemble();
  try {
    const { roomId, token } = await createRoom(server.url, `b4-${run}`);
    return await replay(`ws://127.0.0.1:${server.port}/sync`, roomId, { token });
  } finally {
    await server.stop();
  }
}

async function runBare(run: number) {
  const server = await startBare();
  try {
    return await replay(`ws://127.0.0.1:${server.port}`, `b4-${run}`, {});
  } finally {
    await server.stop();
  }
}

const rows: Array<Record<string, string | number>> = [];
const best = { ensemble: Infinity, bare: Infinity };
for (let run = 1; run <= RUNS; run++) {
  const bare = await runBare(run);
  const ensemble = await runEnsemble(run);
  best.bare = Math.min(best.bare, bare.ms);
  best.ensemble = Math.min(best.ensemble, ensemble.ms);
  rows.push({
    run,
    ops: OPS,
    'bare @y/websocket-server (ms)': bare.ms.toFixed(0),
    'Ensemble + SQLite (ms)': ensemble.ms.toFixed(0),
    ratio: (ensemble.ms / bare.ms).toFixed(3),
    'readers === endContent': bare.ok && ensemble.ok ? 'yes' : `NO (bare ${bare.ok}, ensemble ${ensemble.ok})`,
  });
}
rows.push({
  run: 'best',
  ops: OPS,
  'bare @y/websocket-server (ms)': best.bare.toFixed(0),
  'Ensemble + SQLite (ms)': best.ensemble.toFixed(0),
  ratio: (best.ensemble / best.bare).toFixed(3),
  'readers === endContent': rows.every((r) => r['readers === endContent'] === 'yes') ? 'yes' : 'NO',
});
printTable(`B4 replay: automerge-paper (${OPS} ops, 1 writer + ${READERS} readers, one update per op)`, rows);
process.exit(rows.every((r) => r['readers === endContent'] === 'yes') ? 0 : 1);
