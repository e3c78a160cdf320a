/**
 * The functions with the most self time in a V8 CPU profile (what `--cpu-prof` writes, e.g. from
 * BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"), as a table.
 *
 *   node --import tsx bench/profile-top.ts /tmp/prof/CPU.*.cpuprofile [--top 25]
 */
import fs from 'node:fs';
import path from 'node:path';
import { printTable } from './sync-common';
import { numberArg } from './sync-load-run';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const TOP = numberArg('top', 25);
const files = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--top');
if (files.length === 0) throw new Error('usage: bench/profile-top.ts FILE.cpuprofile... [--top N]');

for (const file of files) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!.callFrame;
    const where = frame.url ? `${frame.url.replace(/^file:\/\//, '').replace(/.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    const dt = profile.timeDeltas[i] ?? 0;
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
    total += dt;
  });
  const rows = [...selfUs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP)
    .map(([fn, us]) => ({ function: fn.replace(`${path.resolve('.')}/`, ''), 'self ms': (us / 1000).toFixed(0), 'self %': ((100 * us) / total).toFixed(1) }));
  printTable(`${path.basename(file)}: ${(total / 1e6).toFixed(1)} s sampled`, rows);
}
