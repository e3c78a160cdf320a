/**
 * models/manifest.json: schema, file checks and ONNX graph checks.
 *
 * `readManifest(dir)` validates the JSON and that every file exists; `verifyGraph(entry, session)`
 * checks an opened ONNX session's inputs/outputs against the entry; `loadManifest(dir)` does both
 * (it opens each model on the CPU to read its metadata). Every failure is a `ManifestError` whose
 * message names the model and the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { ManifestError } from './errors';
import { embedGraphPlan } from './embedder';
import { embedEntryFromFolder, POOLINGS } from './hf-embed';
import { FolderEntrySchema, idFromFolder, isFolderEntry, textEntryFromFolder, type TextDtype } from './hf-folder';

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'model ids use letters, digits, ".", "_", "-"');
const relPath = z
  .string()
  .min(1)
  .refine((p) => !path.isAbsolute(p) && !p.split(/[\\/]/).includes('..'), 'must be a relative path inside the model folder');
const posInt = z.number().int().positive();
const tokenId = z.number().int().nonnegative();

/** The fields every entry has, in this order: id, task, folder, files, the task's own fields, description. */
function entrySchema<T extends string, F extends z.ZodRawShape, S extends z.ZodRawShape>(task: T, files: F, fields: S) {
  return z.looseObject({ id, task: z.literal(task), folder: relPath, files: z.looseObject(files), ...fields, description: z.string().optional() });
}

export const TextGenerationEntrySchema = entrySchema(
  'text-generation',
  { model: relPath, config: relPath.optional(), tokenizer: relPath, tokenizerConfig: relPath.optional() },
  {
    contextLength: posInt,
    vocabSize: posInt,
    numLayers: posInt,
    numKeyValueHeads: posInt,
    headDim: posInt,
    bosTokenId: tokenId.optional(),
    /** One id or several (Llama 3 style models end on any of a few tokens). */
    eosTokenId: z.union([tokenId, z.array(tokenId).min(1)]),
    padTokenId: tokenId.optional(),
  },
);

export const EmbeddingEntrySchema = entrySchema(
  'embedding',
  { model: relPath, tokenizer: relPath, tokenizerConfig: relPath.optional() },
  {
    dims: posInt,
    maxTokens: posInt,
    padTokenId: tokenId.optional(),
    /** Set for a sentence-transformers folder (hf-embed.ts): pool its token states; absent for the built-in `embeddings` output. */
    pooling: z.enum(POOLINGS).optional(),
    /** L2-normalise the vector (default: yes for the built-in layout, no for a folder without a Normalize module). */
    normalize: z.boolean().optional(),
  },
);

export const ImageGenerationEntrySchema = entrySchema(
  'image-generation',
  { model: relPath },
  { conditioningModel: id, conditioningDims: posInt, noiseDims: posInt, imageSize: posInt },
);

export const ModelEntrySchema = z.discriminatedUnion('task', [
  TextGenerationEntrySchema,
  EmbeddingEntrySchema,
  ImageGenerationEntrySchema,
]);

export const ManifestSchema = z.looseObject({
  version: z.literal(1),
  models: z.array(ModelEntrySchema).min(1, 'the manifest lists no models'),
});

export type TextGenerationEntry = z.infer<typeof TextGenerationEntrySchema>;
export type EmbeddingEntry = z.infer<typeof EmbeddingEntrySchema>;
export type ImageGenerationEntry = z.infer<typeof ImageGenerationEntrySchema>;
export type ModelEntry = z.infer<typeof ModelEntrySchema>;
export type ModelTask = ModelEntry['task'];

export interface Manifest {
  /** Absolute path of the models folder. */
  dir: string;
  version: 1;
  models: ModelEntry[];
}

/** Absolute path of one of a model's files. */
export function modelFile(manifest: Pick<Manifest, 'dir'>, entry: ModelEntry, key: string): string {
  const rel = (entry.files as Record<string, unknown>)[key];
  if (typeof rel !== 'string') throw new ManifestError(`model "${entry.id}": no "${key}" file in the manifest`, entry.id);
  // resolve, not join: a folder given by ENSEMBLE_TEXT_MODEL is absolute.
  return path.resolve(manifest.dir, entry.folder, rel);
}

/** The end-of-sequence ids of a text model (the manifest allows one or several). */
export function eosIds(entry: TextGenerationEntry): number[] {
  return Array.isArray(entry.eosTokenId) ? entry.eosTokenId : [entry.eosTokenId];
}

/** A text model given as a bare folder (ENSEMBLE_TEXT_MODEL / ENSEMBLE_TEXT_DTYPE): it replaces the manifest's text models. */
export interface TextModelOverride {
  textModel?: string;
  textDtype?: TextDtype;
  /** A sentence-embedding folder (ENSEMBLE_EMBED_MODEL): becomes the default embedding model. */
  embedModel?: string;
}

/** Folder-only entries (`{ id, task, folder, dtype? }`) expanded into full entries read from their folder. */
function expandFolderEntries(abs: string, file: string, json: unknown): unknown {
  const models = (json as { models?: unknown }).models;
  if (!Array.isArray(models)) return json;
  const expanded = models.map((raw: unknown) => {
    if (!isFolderEntry(raw)) return raw;
    const parsed = FolderEntrySchema.safeParse(raw);
    if (!parsed.success) {
      const mid = (raw as { id?: unknown }).id;
      const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(entry)'}: ${i.message}`);
      throw new ManifestError(`invalid models manifest ${file}: folder entry ${JSON.stringify(mid)}:\n${lines.join('\n')}`, typeof mid === 'string' ? mid : undefined, file);
    }
    const { id, task, folder, dtype, description } = parsed.data;
    if (task === 'embedding') return embedEntryFromFolder({ id, folder, abs: path.resolve(abs, folder), dtype, description });
    return textEntryFromFolder({ id, folder, abs: path.resolve(abs, folder), dtype, description });
  });
  return { ...(json as object), models: expanded };
}

/** Parses and validates manifest.json and checks every listed file exists (no ONNX session opened). */
export function readManifest(dir: string, override: TextModelOverride = {}): Manifest {
  const abs = path.resolve(dir);
  const file = path.join(abs, 'manifest.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ManifestError(`models manifest not found: ${file} (set ENSEMBLE_MODELS_DIR to a folder with manifest.json)`, undefined, file, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(`models manifest ${file} is not valid JSON: ${(err as Error).message}`, undefined, file, { cause: err });
  }
  json = expandFolderEntries(abs, file, json);
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const models = (json as { models?: unknown }).models;
    const lines = parsed.error.issues.map((issue) => {
      const [first, index] = issue.path;
      let where = issue.path.join('.') || '(root)';
      if (first === 'models' && typeof index === 'number' && Array.isArray(models)) {
        const mid = (models[index] as { id?: unknown } | undefined)?.id;
        if (typeof mid === 'string') where = `model "${mid}": ${issue.path.slice(2).join('.') || '(entry)'}`;
      }
      return `  ${where}: ${issue.message}`;
    });
    throw new ManifestError(`invalid models manifest ${file}:\n${lines.join('\n')}`, undefined, file);
  }
  const manifest: Manifest = { dir: abs, version: 1, models: parsed.data.models };
  if (override.textModel) {
    const folder = path.resolve(override.textModel);
    const entry = textEntryFromFolder({ id: idFromFolder(folder), folder, abs: folder, dtype: override.textDtype });
    manifest.models = [entry, ...manifest.models.filter((m) => m.task !== 'text-generation' && m.id !== entry.id)];
  }
  if (override.embedModel) {
    // First among the embedding models, so embed() without a model id uses it; the built-in one
    // stays for the image model it conditions (their dims must agree).
    const folder = path.resolve(override.embedModel);
    const entry = embedEntryFromFolder({ id: idFromFolder(folder), folder, abs: folder });
    const at = manifest.models.findIndex((m) => m.task === 'embedding');
    const rest = manifest.models.filter((m) => m.id !== entry.id);
    rest.splice(at < 0 ? rest.length : Math.min(at, rest.length), 0, entry);
    manifest.models = rest;
  }

  const seen = new Set<string>();
  for (const entry of manifest.models) {
    if (seen.has(entry.id)) throw new ManifestError(`models manifest ${file}: model id "${entry.id}" appears twice`, entry.id, file);
    seen.add(entry.id);
  }
  for (const entry of manifest.models) {
    for (const key of Object.keys(entry.files)) {
      const p = modelFile(manifest, entry, key);
      if (!fs.existsSync(p) || !fs.statSync(p).isFile()) {
        throw new ManifestError(`model "${entry.id}": ${key} file is missing: ${p}`, entry.id, p);
      }
    }
    if (entry.task === 'image-generation') {
      const cond = manifest.models.find((m) => m.id === entry.conditioningModel);
      if (!cond || cond.task !== 'embedding') {
        throw new ManifestError(
          `model "${entry.id}": conditioningModel "${entry.conditioningModel}" is not an embedding model in the manifest`,
          entry.id,
          file,
        );
      }
      if (cond.dims !== entry.conditioningDims) {
        throw new ManifestError(
          `model "${entry.id}": conditioningDims ${entry.conditioningDims} != dims ${cond.dims} of "${cond.id}"`,
          entry.id,
          file,
        );
      }
    }
    if (entry.task === 'text-generation' && entry.files.config) {
      checkHfConfig(manifest, entry);
    }
  }
  return manifest;
}

function checkHfConfig(manifest: Manifest, entry: TextGenerationEntry): void {
  const p = modelFile(manifest, entry, 'config');
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(fs.readFileSync(p, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ManifestError(`model "${entry.id}": config file ${p} is not valid JSON`, entry.id, p, { cause: err });
  }
  const pairs: Array<[string, number]> = [
    ['vocab_size', entry.vocabSize],
    ['num_hidden_layers', entry.numLayers],
  ];
  for (const [key, want] of pairs) {
    const got = cfg[key];
    if (typeof got === 'number' && got !== want) {
      throw new ManifestError(`model "${entry.id}": ${p} has ${key}=${got} but the manifest says ${want}`, entry.id, p);
    }
  }
}

type Meta = ort.InferenceSession.ValueMetadata;

function describe(m: Meta | undefined): string {
  if (!m) return '(absent)';
  if (!m.isTensor) return `${m.name} (not a tensor)`;
  return `${m.name} ${m.type} [${m.shape.join(', ')}]`;
}

/**
 * Checks an opened session against its manifest entry. Symbolic dims are accepted anywhere; numeric
 * dims must equal what the manifest says.
 */
export function verifyGraph(manifest: Pick<Manifest, 'dir'>, entry: ModelEntry, session: ort.InferenceSession): void {
  const file = modelFile(manifest, entry, 'model');
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m] as const));
  const outputs = new Map(session.outputMetadata.map((m) => [m.name, m] as const));
  const fail = (msg: string): never => {
    throw new ManifestError(`model "${entry.id}": ${file}: ${msg}`, entry.id, file);
  };
  const need = (
    where: 'input' | 'output',
    name: string,
    type: string | string[],
    dims: Array<number | null>,
  ): void => {
    const m = (where === 'input' ? inputs : outputs).get(name);
    if (!m) fail(`graph has no ${where} "${name}" (${where}s: ${[...(where === 'input' ? inputs : outputs).keys()].join(', ')})`);
    if (!m!.isTensor) fail(`${where} "${name}" is not a tensor`);
    const t = m as ort.InferenceSession.TensorValueMetadata;
    const types = Array.isArray(type) ? type : [type];
    if (!types.includes(t.type)) fail(`${where} "${name}" has type ${t.type}, expected ${types.join(' or ')}`);
    if (t.shape.length > 0 && t.shape.length !== dims.length) {
      fail(`${where} ${describe(t)} has rank ${t.shape.length}, expected ${dims.length}`);
    }
    dims.forEach((want, i) => {
      const got = t.shape[i];
      if (want !== null && typeof got === 'number' && got !== want) {
        fail(`${where} ${describe(t)}: dim ${i} is ${got} but the manifest implies ${want}`);
      }
    });
  };

  if (entry.task === 'text-generation') {
    // Ids, mask and positions may be int32 (some transformers.js exports): CausalLM feeds the session's type.
    need('input', 'input_ids', ['int64', 'int32'], [null, null]);
    need('input', 'attention_mask', ['int64', 'int32'], [null, null]);
    if (inputs.has('position_ids')) need('input', 'position_ids', ['int64', 'int32'], [null, null]);
    if (inputs.has('num_logits_to_keep')) need('input', 'num_logits_to_keep', ['int64', 'int32'], []);
    need('output', 'logits', ['float32', 'float16'], [null, null, entry.vocabSize]);
    // The cache is float32 or float16 (fp16 / q4f16 exports), the same type in every layer.
    const first = inputs.get('past_key_values.0.key');
    const kvType = first?.isTensor && first.type === 'float16' ? 'float16' : 'float32';
    for (let i = 0; i < entry.numLayers; i++) {
      for (const kv of ['key', 'value']) {
        need('input', `past_key_values.${i}.${kv}`, kvType, [null, entry.numKeyValueHeads, null, entry.headDim]);
        need('output', `present.${i}.${kv}`, kvType, [null, entry.numKeyValueHeads, null, entry.headDim]);
      }
    }
    const extraPast = [...inputs.keys()].filter((n) => n.startsWith('past_key_values.') && Number(n.split('.')[1]) >= entry.numLayers);
    if (extraPast.length) fail(`graph has more layers than numLayers=${entry.numLayers} (${extraPast.join(', ')})`);
    const known = /^(input_ids|attention_mask|position_ids|use_cache_branch|num_logits_to_keep|past_key_values\.\d+\.(key|value))$/;
    const unknown = [...inputs.keys()].filter((n) => !known.test(n));
    if (unknown.length) fail(`graph has inputs the runtime cannot feed: ${unknown.join(', ')}`);
  } else if (entry.task === 'embedding' && entry.pooling !== undefined) {
    embedGraphPlan(entry, session, file); // a sentence-transformers export (embedder.ts)
  } else if (entry.task === 'embedding') {
    need('input', 'input_ids', 'int64', [null, null]);
    need('input', 'attention_mask', 'int64', [null, null]);
    need('output', 'embeddings', 'float32', [null, entry.dims]);
    const unknown = [...inputs.keys()].filter((n) => !/^(input_ids|attention_mask|token_type_ids)$/.test(n));
    if (unknown.length) fail(`graph has inputs the runtime cannot feed: ${unknown.join(', ')}`);
  } else {
    need('input', 'text_embedding', 'float32', [null, entry.conditioningDims]);
    need('input', 'noise', 'float32', [null, entry.noiseDims]);
    need('output', 'image', 'float32', [null, 3, entry.imageSize, entry.imageSize]);
  }
}

/** Opens an ONNX file, turning load failures into a ManifestError naming the model and file. */
export async function openSession(
  manifest: Pick<Manifest, 'dir'>,
  entry: ModelEntry,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<ort.InferenceSession> {
  const file = modelFile(manifest, entry, 'model');
  try {
    return await ort.InferenceSession.create(file, options);
  } catch (err) {
    throw new ManifestError(`model "${entry.id}": cannot load ONNX file ${file}: ${(err as Error).message}`, entry.id, file, { cause: err });
  }
}

/** Full startup check: schema, files, and every ONNX graph's inputs/outputs/dims (opened on the CPU). */
export async function loadManifest(dir: string): Promise<Manifest> {
  const manifest = readManifest(dir);
  for (const entry of manifest.models) {
    const session = await openSession(manifest, entry);
    try {
      verifyGraph(manifest, entry, session);
    } finally {
      await session.release();
    }
  }
  return manifest;
}
