import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The server's layering (server/README.md draws it): which module may import which. A module is a
 * folder of server/src or a top-level file there. Anything not listed for a module is forbidden.
 */
const ALLOWED: Record<string, readonly string[]> = {
  // foundation
  config: [],
  logger: ['config'],
  errors: [],
  'exit-codes': [],
  ids: [],
  limits: [],
  // engines and stores, which know nothing of rooms or transports
  inference: [],
  storage: ['config', 'errors'],
  metrics: ['storage'],
  ports: ['config', 'storage', 'errors'],
  // transports and identity
  http: ['errors', 'storage'],
  auth: ['config', 'errors', 'http', 'limits', 'ports', 'storage'],
  sync: ['errors', 'limits', 'metrics', 'ports', 'storage', 'auth'],
  // several processes on the same rooms: the room bus and the /collab adapter over Redis
  scale: ['config', 'ports'],
  // features
  rooms: ['ids', 'errors', 'ports', 'storage', 'auth', 'http'],
  versions: ['ids', 'errors', 'ports', 'storage', 'auth', 'http', 'rooms'],
  provenance: ['ports', 'storage', 'auth', 'http', 'sync'],
  images: ['ports', 'storage', 'auth', 'http'],
  exports: ['ports', 'storage', 'auth', 'http', 'sync', 'provenance'],
  'remote-inference': ['config', 'inference'],
  'inference-options': ['config', 'inference'],
  openai: ['inference', 'ports', 'http', 'auth', 'limits', 'errors', 'config'],
  recommendation: ['ports', 'storage', 'limits', 'inference'],
  agent: ['ids', 'config', 'inference-options', 'errors', 'limits', 'ports', 'storage', 'auth', 'http', 'sync', 'inference', 'recommendation'],
  // the composition root wires everything
  server: ['*'],
  'inference-server': ['config', 'http', 'inference', 'inference-options', 'metrics', 'openai'],
  main: ['*'],
  index: ['*'],
};

/** Narrower rules inside an allowed edge: the only files of a module another module may import. */
const ONLY_FILES: Array<{ from: (m: string) => boolean; to: string; files: string[]; why: string }> = [
  { from: (m) => m === 'http', to: 'storage', files: ['storage/store-error.ts'], why: 'the error sender maps StoreError; http knows no store' },
  {
    from: (m) => !['sync', 'server', 'main', 'index'].includes(m),
    to: 'sync',
    files: ['sync/stored-document.ts'],
    why: 'features read rooms through ports (RoomDocuments) and the one stored-document loader',
  },
];

const SRC = path.resolve(__dirname, '../../server/src');
const MAX_LINES = 400;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return /\.(ts|mts|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

function moduleOf(rel: string): string {
  const [first, ...rest] = rel.split('/');
  return rest.length > 0 ? first! : first!.replace(/\.(ts|mts|mjs)$/, '');
}

/** Relative imports of a file (static, dynamic and type-only), resolved to paths under server/src. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => {
    const abs = path.resolve(path.dirname(file), s);
    const rel = path.relative(SRC, abs).split(path.sep).join('/');
    if (/\.(ts|mts|mjs)$/.test(rel)) return rel;
    return fs.existsSync(abs + '.ts') ? rel + '.ts' : fs.existsSync(path.join(abs, 'index.ts')) ? rel + '/index.ts' : rel + '.ts';
  });
}

const files = sourceFiles(SRC).map((f) => path.relative(SRC, f).split(path.sep).join('/'));

describe('server layering', () => {
  it('every module is in the layer table', () => {
    const modules = new Set(files.map(moduleOf));
    expect([...modules].filter((m) => !(m in ALLOWED))).toEqual([]);
  });

  it('no module imports one above it', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = moduleOf(file);
      const allowed = ALLOWED[from] ?? [];
      for (const target of importsOf(path.join(SRC, file))) {
        const to = moduleOf(target);
        if (to === from || allowed.includes('*')) continue;
        if (!allowed.includes(to)) violations.push(`${file} imports ${target} (${from} may not import ${to})`);
        for (const rule of ONLY_FILES) {
          if (rule.to === to && rule.from(from) && !rule.files.includes(target)) violations.push(`${file} imports ${target}: ${rule.why}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it(`no file in server/src is longer than ${MAX_LINES} lines`, () => {
    const long = files
      .map((f) => ({ f, lines: fs.readFileSync(path.join(SRC, f), 'utf8').split('\n').length }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ f, lines }) => `${f}: ${lines}`);
    expect(long).toEqual([]);
  });
});
