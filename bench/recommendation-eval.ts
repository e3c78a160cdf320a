/**
 * Offline evaluation of the personal ranking (server/src/recommendation).
 *
 * Simulated members with hidden preferences (length: terse / expansive / indifferent; tone: dark /
 * bright / indifferent) see rounds of 4 generated alternatives. After each round they give
 * feedback the way the UI collects it: accept the alternative they like best, reject the one they
 * like least, vote on one more. Before each round's feedback we measure NDCG@3 of the order the
 * service shows them (personalised) and of the unpersonalised order (as generated), against the
 * member's hidden utility as graded relevance (0..3 = rank of utility within the round).
 *
 * Run: node --import tsx bench/recommendation-eval.ts [--members 24] [--rounds 20] [--seed 7] [--engine]
 * `--engine` embeds with the built-in embedding model (server/src/inference) instead of hashing.
 */
import type { AiRecordStore, FeedbackRecord } from '../server/src/storage/store';
import { HashingEmbedder, RecommendationService, ndcgAt, type Embedder } from '../server/src/recommendation/index';

const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const MEMBERS = arg('members', 24);
const ROUNDS = arg('rounds', 20);
let seed = arg('seed', 7);
const rand = (): number => {
  seed = (seed * 1664525 + 1013904223) % 4294967296;
  return seed / 4294967296;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const SUBJECTS = ['The keeper', 'Mara', 'The old man', 'The girl', 'A stranger', 'The captain', 'Her brother', 'The fox'];
const VERBS = ['walked to the harbour', 'opened the letter', 'climbed the stairs', 'looked at the sea', 'waited by the door', 'lit the lamp', 'crossed the bridge', 'found the key'];
const DARK = ['grim', 'cold', 'bleak', 'shadowed', 'ashen', 'silent', 'mournful', 'bitter'];
const BRIGHT = ['warm', 'golden', 'cheerful', 'sunny', 'bright', 'glad', 'sparkling', 'merry'];
const NOUNS = ['morning', 'wind', 'light', 'street', 'sky', 'house', 'garden', 'water'];
const ADVERBS = ['slowly', 'gracefully', 'endlessly', 'dreamily', 'wonderfully', 'quietly'];

interface Alt {
  text: string;
  length: number;
  tone: number; // +1 bright, -1 dark, 0 neutral
}

function alternative(): Alt {
  const clauses = 1 + Math.floor(rand() * 5);
  const toneRoll = rand();
  const tone = toneRoll < 0.35 ? -1 : toneRoll < 0.7 ? 1 : 0;
  const parts: string[] = [`${pick(SUBJECTS)} ${pick(VERBS)}`];
  for (let c = 1; c < clauses; c++) {
    const adj = tone < 0 ? pick(DARK) : tone > 0 ? pick(BRIGHT) : pick(['plain', 'ordinary', 'small', 'grey-green']);
    parts.push(`${rand() < 0.5 ? pick(ADVERBS) + ', ' : ''}the ${adj} ${pick(NOUNS)} ${pick(['stretched on', 'waited', 'turned', 'moved', 'went still'])}`);
  }
  const text = parts.join(', and ') + '.';
  return { text, length: clauses, tone };
}

interface Member {
  id: string;
  lengthPref: -1 | 0 | 1;
  tonePref: -1 | 0 | 1;
}

function utility(m: Member, a: Alt): number {
  return m.lengthPref * (a.length - 3) / 2 + m.tonePref * a.tone + (rand() - 0.5) * 0.3;
}

function grades(us: number[]): number[] {
  const order = us.map((u, i) => ({ u, i })).sort((a, b) => a.u - b.u);
  const rel = new Array<number>(us.length).fill(0);
  order.forEach((e, rank) => (rel[e.i] = rank));
  return rel;
}

function memoryStore(): Pick<AiRecordStore, 'addFeedback' | 'listFeedback'> {
  const fb: FeedbackRecord[] = [];
  return {
    async addFeedback(f: FeedbackRecord) {
      fb.push(f);
    },
    async listFeedback(roomId: string, memberId?: string) {
      return fb.filter((f) => f.roomId === roomId && (memberId === undefined || f.memberId === memberId));
    },
  };
}

async function engineEmbedder(): Promise<Embedder | null> {
  try {
    const { loadEngine } = await import('../test/agent/harness');
    const engine = await loadEngine();
    return { embed: (t) => engine.embed(t) };
  } catch (err) {
    console.error('engine unavailable, using hashing embedder:', (err as Error).message);
    return null;
  }
}

async function main(): Promise<void> {
  const embedder = (args.includes('--engine') ? await engineEmbedder() : null) ?? new HashingEmbedder();
  const svc = new RecommendationService(memoryStore(), embedder);
  const members: Member[] = Array.from({ length: MEMBERS }, (_, i) => ({
    id: `m${i}`,
    lengthPref: ([-1, 1, 0] as const)[i % 3]!,
    tonePref: ([-1, 1, 0, 1, -1, 0] as const)[Math.floor(i / 3) % 6]!,
  }));
  const perRound = Array.from({ length: ROUNDS }, () => ({ pers: 0, base: 0, n: 0 }));
  const started = Date.now();
  for (let r = 0; r < ROUNDS; r++) {
    for (const m of members) {
      if (m.lengthPref === 0 && m.tonePref === 0) continue; // no preference: nothing to learn
      const alts = Array.from({ length: 4 }, alternative);
      const us = alts.map((a) => utility(m, a));
      const rel = grades(us);
      const order = await svc.rank('room', m.id, alts.map((a) => a.text));
      perRound[r]!.pers += ndcgAt(order, rel, 3);
      perRound[r]!.base += ndcgAt([0, 1, 2, 3], rel, 3);
      perRound[r]!.n++;
      const best = rel.indexOf(3);
      const worst = rel.indexOf(0);
      const other = rel.indexOf(2);
      await svc.record('room', m.id, `p${r}`, best, 'accept', alts[best]!.text);
      await svc.record('room', m.id, `p${r}`, worst, 'reject', alts[worst]!.text);
      await svc.record('room', m.id, `p${r}`, other, 'vote-up', alts[other]!.text);
    }
  }
  const mean = (from: number, to: number, k: 'pers' | 'base'): number => {
    const rows = perRound.slice(from, to);
    return rows.reduce((s, x) => s + x[k], 0) / rows.reduce((s, x) => s + x.n, 0);
  };
  const embName = embedder instanceof HashingEmbedder ? 'hashing (word n-grams)' : 'built-in embedding model';
  console.log(`Recommendation offline evaluation: ${MEMBERS} simulated members (${perRound[0]!.n} with a preference), ${ROUNDS} rounds of 4 alternatives, embedder: ${embName}`);
  console.log('');
  console.log('| rounds | NDCG@3 personalised | NDCG@3 unpersonalised | lift |');
  console.log('|---|---|---|---|');
  const windows: Array<[number, number]> = [[0, 1], [1, 3], [3, 6], [6, 10], [10, ROUNDS], [1, ROUNDS]];
  for (const [a, b] of windows) {
    if (a >= ROUNDS) continue;
    const p = mean(a, Math.min(b, ROUNDS), 'pers');
    const u = mean(a, Math.min(b, ROUNDS), 'base');
    console.log(`| ${a + 1}–${Math.min(b, ROUNDS)} | ${p.toFixed(3)} | ${u.toFixed(3)} | ${(p - u >= 0 ? '+' : '') + (p - u).toFixed(3)} |`);
  }
  console.log('');
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

void main();
