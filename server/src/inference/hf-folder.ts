/**
 * A Hugging Face folder as `optimum-cli export onnx` or the onnx-community / transformers.js repos
 * lay it out, turned into the text-generation manifest entry the engine runs — nothing written
 * by hand. Numbers come from config.json (model_type-independent key spellings: GPT-2's n_layer /
 * n_head / n_embd / n_positions as well as Llama's), end/start/pad ids from generation_config.json
 * (falling back to config.json), and the ONNX file from the dtype the transformers.js way. The
 * graph's own inputs (position_ids, num_logits_to_keep, int32 ids) are read from the session by
 * CausalLM and checked by verifyGraph. Every failure is a ManifestError naming the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ManifestError } from './errors';
import type { TextGenerationEntry } from './manifest';

export const TEXT_DTYPES = ['fp32', 'fp16', 'q8', 'q4', 'q4f16'] as const;
export type TextDtype = (typeof TEXT_DTYPES)[number];

/**
 * ONNX file names per dtype, in preference order, as transformers.js v3 names them
 * (`model{suffix}.onnx`), then the legacy merged-decoder set. Searched in `onnx/`, then the folder.
 */
const DTYPE_FILES: Record<TextDtype, string[]> = {
  fp32: ['model.onnx', 'decoder_model_merged.onnx'],
  fp16: ['model_fp16.onnx', 'decoder_model_merged_fp16.onnx'],
  q8: ['model_quantized.onnx', 'model_int8.onnx', 'model_uint8.onnx', 'decoder_model_merged_quantized.onnx'],
  q4: ['model_q4.onnx', 'model_bnb4.onnx'],
  q4f16: ['model_q4f16.onnx'],
};

/** A manifest entry reduced to a folder: everything else is read from the folder. */
export const FolderEntrySchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'model ids use letters, digits, ".", "_", "-"'),
  task: z.enum(['text-generation', 'embedding']),
  folder: z.string().min(1),
  dtype: z.enum(TEXT_DTYPES).optional(),
  description: z.string().optional(),
});
export type FolderEntry = z.infer<typeof FolderEntrySchema>;

/** True for a text-generation or embedding entry that gives only a folder (no `files`): resolved from the folder's own files. */
export function isFolderEntry(raw: unknown): boolean {
  const task = typeof raw === 'object' && raw !== null ? (raw as { task?: unknown }).task : undefined;
  return (task === 'text-generation' || task === 'embedding') && !('files' in (raw as object));
}

/** A model id from a folder name ("Qwen2.5-0.5B-Instruct/" → "Qwen2.5-0.5B-Instruct"). */
export function idFromFolder(folder: string): string {
  const base = path.basename(path.resolve(folder)).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return base || 'text-model';
}

type Json = Record<string, unknown>;

function readJson(file: string, id: string, required: boolean): Json | undefined {
  if (!fs.existsSync(file)) {
    if (!required) return undefined;
    throw new ManifestError(`model "${id}": ${file} is missing (a Hugging Face model folder needs config.json, tokenizer.json and an ONNX decoder)`, id, file);
  }
  try {
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not a JSON object');
    return json as Json;
  } catch (err) {
    throw new ManifestError(`model "${id}": ${file} is not valid JSON: ${(err as Error).message}`, id, file, { cause: err });
  }
}

/**
 * Whether an ONNX file's bytes contain `needle` (an op type such as "GroupQueryAttention" is stored
 * as a plain string in the graph's protobuf). Read in 16 MiB chunks; weights in external data
 * files are not read.
 */
export function graphMentions(file: string, needle: string): boolean {
  const want = Buffer.from(needle);
  const buf = Buffer.alloc(1 << 24);
  const fd = fs.openSync(file, 'r');
  try {
    let carry = Buffer.alloc(0);
    for (let pos = 0; ; ) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) return false;
      const chunk = Buffer.concat([carry, buf.subarray(0, n)]);
      if (chunk.includes(want)) return true;
      carry = chunk.subarray(Math.max(0, chunk.length - want.length + 1));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The ONNX file for `dtype`, relative to the folder; a ManifestError listing what is there otherwise. */
export function chooseOnnxFile(folder: string, id: string, dtype: TextDtype): string {
  for (const dir of ['onnx', '.']) {
    for (const name of DTYPE_FILES[dtype]) {
      const rel = dir === '.' ? name : `${dir}/${name}`;
      if (fs.existsSync(path.join(folder, rel))) return rel;
    }
  }
  const present = ['onnx', '.'].flatMap((dir) => {
    const abs = path.join(folder, dir);
    return fs.existsSync(abs) ? fs.readdirSync(abs).filter((f) => f.endsWith('.onnx')).map((f) => (dir === '.' ? f : `${dir}/${f}`)) : [];
  });
  throw new ManifestError(
    `model "${id}": ${folder} has no ${dtype} ONNX decoder (looked for ${DTYPE_FILES[dtype].map((f) => `onnx/${f}`).join(', ')}; ` +
      `found: ${present.join(', ') || 'no .onnx files'}). Set ENSEMBLE_TEXT_DTYPE (or the entry's "dtype") to the variant the folder has.`,
    id,
    path.join(folder, 'onnx', DTYPE_FILES[dtype][0]!),
  );
}

/** genai_config.json's `model` section in config.json's key names. */
function configFromGenai(genai: Json): Json {
  const model = (genai.model ?? {}) as Json;
  const dec = (model.decoder ?? {}) as Json;
  return {
    model_type: model.type,
    vocab_size: model.vocab_size,
    max_position_embeddings: model.context_length,
    num_hidden_layers: dec.num_hidden_layers,
    num_attention_heads: dec.num_attention_heads,
    num_key_value_heads: dec.num_key_value_heads,
    head_dim: dec.head_size,
    hidden_size: dec.hidden_size,
    eos_token_id: model.eos_token_id,
    bos_token_id: model.bos_token_id,
    pad_token_id: model.pad_token_id,
    genai_filename: dec.filename,
  };
}

function genaiModelFile(abs: string, id: string, cfg: Json, genaiFile: string): string {
  const rel = typeof cfg.genai_filename === 'string' ? cfg.genai_filename : 'model.onnx';
  if (path.isAbsolute(rel) || rel.split(/[\\/]/).includes('..') || !fs.existsSync(path.join(abs, rel))) {
    throw new ManifestError(`model "${id}": ${genaiFile} names decoder file "${rel}", which is not in ${abs}`, id, genaiFile);
  }
  return rel;
}

function firstNumber(cfg: Json, keys: string[]): number | undefined {
  for (const k of keys) {
    const v = cfg[k];
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  }
  return undefined;
}

function tokenIds(v: unknown): number[] | undefined {
  const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  const ids = list.filter((x): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0);
  return ids.length ? ids : undefined;
}

/**
 * The full text-generation entry for a Hugging Face folder. `folder` is what the entry stores
 * (relative to the manifest folder, or absolute for ENSEMBLE_TEXT_MODEL); `abs` is where it is.
 */
export function textEntryFromFolder(opts: { id: string; folder: string; abs: string; dtype?: TextDtype; description?: string }): TextGenerationEntry {
  const { id, abs } = opts;
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
    throw new ManifestError(`model "${id}": model folder not found: ${abs}`, id, abs);
  }
  // onnxruntime-genai folders (model builder output) may have only genai_config.json.
  const genaiFile = path.join(abs, 'genai_config.json');
  const genai = !fs.existsSync(path.join(abs, 'config.json')) && fs.existsSync(genaiFile) ? readJson(genaiFile, id, true)! : undefined;
  const configFile = genai ? genaiFile : path.join(abs, 'config.json');
  const cfg = genai ? configFromGenai(genai) : readJson(configFile, id, true)!;
  const gen = readJson(path.join(abs, 'generation_config.json'), id, false) ?? {};
  const need = (what: string, keys: string[]): number => {
    const v = firstNumber(cfg, keys);
    if (v === undefined) throw new ManifestError(`model "${id}": ${configFile} has no ${what} (${keys.join(' / ')})`, id, configFile);
    return v;
  };
  // Multimodal/nested configs keep the decoder's numbers under text_config.
  const text = typeof cfg.text_config === 'object' && cfg.text_config !== null ? { ...cfg, ...(cfg.text_config as Json) } : cfg;
  Object.assign(cfg, text);
  const vocabSize = need('vocabulary size', ['vocab_size']);
  const numLayers = need('layer count', ['num_hidden_layers', 'n_layer', 'num_layers']);
  const heads = need('attention head count', ['num_attention_heads', 'n_head']);
  const numKeyValueHeads = firstNumber(cfg, ['num_key_value_heads', 'n_kv_heads']) ?? heads;
  const hidden = firstNumber(cfg, ['hidden_size', 'n_embd', 'd_model']);
  const headDim = firstNumber(cfg, ['head_dim']) ?? (hidden !== undefined ? hidden / heads : undefined);
  if (headDim === undefined || !Number.isInteger(headDim)) {
    throw new ManifestError(`model "${id}": ${configFile}: cannot tell the head size (no head_dim, and hidden_size / num_attention_heads is not a whole number)`, id, configFile);
  }
  const contextLength = need('context length', ['max_position_embeddings', 'n_positions', 'n_ctx', 'max_sequence_length']);
  const eos = tokenIds(gen.eos_token_id) ?? tokenIds(cfg.eos_token_id);
  if (!eos) throw new ManifestError(`model "${id}": neither generation_config.json nor ${configFile} has an eos_token_id`, id, configFile);
  const bos = tokenIds(gen.bos_token_id ?? cfg.bos_token_id)?.[0];
  const pad = tokenIds(gen.pad_token_id ?? cfg.pad_token_id)?.[0];
  const tokenizer = 'tokenizer.json';
  if (!fs.existsSync(path.join(abs, tokenizer))) {
    throw new ManifestError(`model "${id}": ${path.join(abs, tokenizer)} is missing (only the tokenizers' JSON format is read; convert slow tokenizers with transformers' save_pretrained)`, id, path.join(abs, tokenizer));
  }
  const hasTokConfig = fs.existsSync(path.join(abs, 'tokenizer_config.json'));
  const dtype = opts.dtype ?? 'fp32';
  return {
    id,
    task: 'text-generation',
    folder: opts.folder,
    files: {
      // A genai folder names its one decoder file (its precision is the folder's, not a dtype's).
      model: genai ? genaiModelFile(abs, id, cfg, genaiFile) : chooseOnnxFile(abs, id, dtype),
      ...(genai ? {} : { config: 'config.json' }),
      tokenizer,
      ...(hasTokConfig ? { tokenizerConfig: 'tokenizer_config.json' } : {}),
    },
    contextLength,
    vocabSize,
    numLayers,
    numKeyValueHeads,
    headDim,
    ...(bos !== undefined ? { bosTokenId: bos } : {}),
    eosTokenId: eos.length === 1 ? eos[0]! : eos,
    ...(pad !== undefined ? { padTokenId: pad } : {}),
    ...(opts.description ? { description: opts.description } : {}),
    dtype,
    modelType: typeof cfg.model_type === 'string' ? cfg.model_type : undefined,
  } as TextGenerationEntry;
}
