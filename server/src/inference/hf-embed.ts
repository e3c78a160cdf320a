/**
 * A sentence-embedding folder as optimum / onnx-community / Xenova export sentence-transformers
 * (all-MiniLM-L6-v2 and the like), turned into the embedding manifest entry the engine runs.
 * Dimensions and the context come from config.json, the pooling from the Pooling module's
 * config.json (1_Pooling/ by default), normalisation from a Normalize module in modules.json, the
 * token limit from sentence_bert_config.json's max_seq_length when present. Modules the runtime
 * cannot apply (a Dense projection, weighted-mean pooling) are a ManifestError naming the file:
 * serving the bare transformer instead would give vectors that only look right.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ManifestError } from './errors';
import { chooseOnnxFile, type TextDtype } from './hf-folder';
import type { EmbeddingEntry } from './manifest';

export const POOLINGS = ['mean', 'cls', 'max', 'lasttoken'] as const;
export type Pooling = (typeof POOLINGS)[number];

type Json = Record<string, unknown>;

function readJson(file: string, id: string): Json | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (typeof json !== 'object' || json === null) throw new Error('not a JSON object or array');
    return json as Json;
  } catch (err) {
    throw new ManifestError(`embedding model "${id}": ${file} is not valid JSON: ${(err as Error).message}`, id, file, { cause: err });
  }
}

function posInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

/** The modules.json pipeline: the Pooling module's folder and whether a Normalize module follows. */
function readModules(abs: string, id: string): { poolingDir: string; normalize: boolean } {
  const file = path.join(abs, 'modules.json');
  const mods = readJson(file, id);
  if (mods === undefined) return { poolingDir: '1_Pooling', normalize: false };
  if (!Array.isArray(mods)) throw new ManifestError(`embedding model "${id}": ${file} is not a list of modules`, id, file);
  let poolingDir = '1_Pooling';
  let normalize = false;
  for (const m of mods as Json[]) {
    const type = String(m?.type ?? '');
    const kind = type.split('.').pop();
    if (kind === 'Transformer') continue;
    if (kind === 'Pooling') poolingDir = typeof m.path === 'string' && m.path ? m.path : poolingDir;
    else if (kind === 'Normalize') normalize = true;
    else throw new ManifestError(`embedding model "${id}": ${file} lists module "${type}", which the runtime cannot apply (it serves Transformer → Pooling → Normalize)`, id, file);
  }
  return { poolingDir, normalize };
}

/** The one pooling mode a Pooling config.json switches on (mean when there is no config). */
function readPooling(file: string, id: string): Pooling {
  const cfg = readJson(file, id);
  if (cfg === undefined) return 'mean';
  const on = Object.entries(cfg)
    .filter(([k, v]) => k.startsWith('pooling_mode_') && v === true)
    .map(([k]) => k.slice('pooling_mode_'.length));
  const names: Record<string, Pooling> = { mean_tokens: 'mean', cls_token: 'cls', max_tokens: 'max', lasttoken: 'lasttoken' };
  if (on.length !== 1 || !names[on[0]!]) {
    throw new ManifestError(
      `embedding model "${id}": ${file} switches on pooling ${on.join(' + ') || '(none)'}; the runtime serves exactly one of ${Object.keys(names).join(', ')}`,
      id,
      file,
    );
  }
  return names[on[0]!]!;
}

/**
 * The full embedding entry for a sentence-embedding folder. `folder` is what the entry stores
 * (relative to the manifest folder, or absolute for ENSEMBLE_EMBED_MODEL); `abs` is where it is.
 */
export function embedEntryFromFolder(opts: { id: string; folder: string; abs: string; dtype?: TextDtype; description?: string }): EmbeddingEntry {
  const { id, abs } = opts;
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
    throw new ManifestError(`embedding model "${id}": model folder not found: ${abs}`, id, abs);
  }
  const configFile = path.join(abs, 'config.json');
  const cfg = readJson(configFile, id);
  if (cfg === undefined) throw new ManifestError(`embedding model "${id}": ${configFile} is missing (a sentence-embedding folder needs config.json, tokenizer.json and onnx/model.onnx)`, id, configFile);
  const dims = posInt(cfg.hidden_size) ?? posInt(cfg.dim) ?? posInt(cfg.d_model);
  if (dims === undefined) throw new ManifestError(`embedding model "${id}": ${configFile} has no hidden size (hidden_size / dim / d_model)`, id, configFile);
  const context = posInt(cfg.max_position_embeddings);
  if (context === undefined) throw new ManifestError(`embedding model "${id}": ${configFile} has no max_position_embeddings`, id, configFile);
  const { poolingDir, normalize } = readModules(abs, id);
  const poolingFile = path.join(abs, poolingDir, 'config.json');
  const pooling = readPooling(poolingFile, id);
  const poolingDims = posInt(readJson(poolingFile, id)?.word_embedding_dimension);
  if (poolingDims !== undefined && poolingDims !== dims) {
    throw new ManifestError(`embedding model "${id}": ${poolingFile} has word_embedding_dimension ${poolingDims} but config.json's hidden size is ${dims}`, id, poolingFile);
  }
  // sentence-transformers truncates at max_seq_length (256 for MiniLM), below the position table.
  const seqLimit = posInt(readJson(path.join(abs, 'sentence_bert_config.json'), id)?.max_seq_length);
  const tokenizerFile = path.join(abs, 'tokenizer.json');
  if (!fs.existsSync(tokenizerFile)) {
    throw new ManifestError(`embedding model "${id}": ${tokenizerFile} is missing (only the tokenizers' JSON format is read)`, id, tokenizerFile);
  }
  const hasTokConfig = fs.existsSync(path.join(abs, 'tokenizer_config.json'));
  const pad = posInt(cfg.pad_token_id) ?? (cfg.pad_token_id === 0 ? 0 : undefined);
  return {
    id,
    task: 'embedding',
    folder: opts.folder,
    files: {
      model: chooseOnnxFile(abs, id, opts.dtype ?? 'fp32'),
      tokenizer: 'tokenizer.json',
      ...(hasTokConfig ? { tokenizerConfig: 'tokenizer_config.json' } : {}),
    },
    dims,
    maxTokens: Math.min(context, seqLimit ?? context),
    ...(pad !== undefined ? { padTokenId: pad } : {}),
    pooling,
    normalize,
    ...(opts.description ? { description: opts.description } : {}),
  };
}
