import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../server/src/config';
import type { CausalLM, ForwardOutput } from '../../server/src/inference/causal-lm';
import type { ModelEntry } from '../../server/src/inference/manifest';

/** The committed models (override with ENSEMBLE_TEST_MODELS_DIR to test another folder). */
export const MODELS_DIR = process.env.ENSEMBLE_TEST_MODELS_DIR ?? path.join(REPO_ROOT, 'models');

export function manifestJson(dir = MODELS_DIR): { version: number; models: ModelEntry[] } {
  return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
}

export function firstId(task: ModelEntry['task']): string {
  const m = manifestJson().models.find((e) => e.task === task);
  if (!m) throw new Error(`no ${task} model in ${MODELS_DIR}`);
  return m.id;
}

export function fixture<T = Record<string, unknown>>(modelId: string): T | undefined {
  const p = path.join(MODELS_DIR, 'fixtures', `${modelId}.json`);
  return fs.existsSync(p) ? (JSON.parse(fs.readFileSync(p, 'utf8')) as T) : undefined;
}

/** A throwaway copy of the models folder (symlinks for large files we do not modify). */
export function copyModels(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-models-'));
  fs.cpSync(MODELS_DIR, dir, { recursive: true });
  return dir;
}

/** A byte-level BPE tokenizer.json (256 byte tokens + 3 specials + a few merges), for unit tests. */
export function writeByteLevelTokenizer(dir: string): string {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const vocab: Record<string, number> = { '<pad>': 0, '<bos>': 1, '<eos>': 2 };
  bs.forEach((b, i) => (vocab[String.fromCodePoint(cs[i]!)] = 3 + b));
  vocab['th'] = 259;
  vocab['Ġt'] = 260;
  const special = (content: string, id: number) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special('<pad>', 0), special('<bos>', 1), special('<eos>', 2)],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }],
      special_tokens: { '<bos>': { id: '<bos>', ids: [1], tokens: ['<bos>'] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: ['t h', 'Ġ t'] },
  };
  const file = path.join(dir, 'tokenizer.json');
  fs.writeFileSync(file, JSON.stringify(json));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<bos>', eos_token: '<eos>', pad_token: '<pad>' }));
  return file;
}

/** One row through the decoder with no KV cache: the reference the cached paths are checked against. */
export function forwardFromScratch(lm: CausalLM, ids: number[]): Promise<ForwardOutput> {
  const T = ids.length;
  return lm.forward({
    rows: 1,
    seq: T,
    inputIds: BigInt64Array.from(ids.map(BigInt)),
    attentionMask: new BigInt64Array(T).fill(1n),
    positionIds: BigInt64Array.from(ids.map((_, j) => BigInt(j))),
    past: { rows: 1, past: 0, data: Array.from({ length: 2 * lm.entry.numLayers }, () => new Float32Array(0)) },
  });
}

/** A chat template in the plain style the built-in model can follow (role: text lines). */
export const PLAIN_CHAT_TEMPLATE =
  "{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

/**
 * A models folder holding only the built-in text model made an instruct model: `chatTemplate`
 * in its tokenizer_config.json and, when given, a generation_config.json.
 */
export function instructModelsDir(chatTemplate = PLAIN_CHAT_TEMPLATE, generationConfig?: Record<string, unknown>): string {
  const entry = manifestJson().models.find((m) => m.task === 'text-generation')!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-instruct-'));
  fs.cpSync(path.join(MODELS_DIR, entry.folder), path.join(dir, entry.folder), { recursive: true });
  const cfgPath = path.join(dir, entry.folder, 'tokenizer_config.json');
  const cfg = fs.existsSync(cfgPath) ? JSON.parse(fs.readFileSync(cfgPath, 'utf8')) : {};
  fs.writeFileSync(cfgPath, JSON.stringify({ ...cfg, chat_template: chatTemplate }));
  if (generationConfig) fs.writeFileSync(path.join(dir, entry.folder, 'generation_config.json'), JSON.stringify(generationConfig));
  const files = { ...entry.files, tokenizerConfig: 'tokenizer_config.json' };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: 1, models: [{ ...entry, files }] }));
  return dir;
}
