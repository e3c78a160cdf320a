/**
 * Running an embedding model: the built-in layout (output `embeddings` [batch, dims], always
 * L2-normalised) and sentence-transformers exports (output `last_hidden_state` [batch, seq, hidden]
 * pooled here over the attention mask, or an already pooled `sentence_embedding` / `pooler_output`
 * [batch, hidden]; L2-normalised only when the folder lists a Normalize module). Rows are
 * right-padded, so positions and the first ([CLS]) token are those of the text alone.
 */
import * as ort from 'onnxruntime-node';
import { InferenceError, ManifestError } from './errors';
import type { Pooling } from './hf-embed';
import type { EmbeddingEntry } from './manifest';
import type { TextTokenizer } from './tokenizer';

const EMBED_BATCH = 32;
/** Pooled outputs a graph may give instead of token states, in preference order. */
const POOLED_OUTPUTS = ['sentence_embedding', 'pooler_output'];

export interface EmbedModel {
  entry: EmbeddingEntry;
  session: ort.InferenceSession;
  tokenizer: TextTokenizer;
  padId: number;
  hasTokenTypeIds: boolean;
  /** The element type of input_ids / attention_mask (token_type_ids, all zeros, gets its own). */
  idType: 'int64' | 'int32';
  /** The graph output read, and whether it still has a sequence axis to pool. */
  output: string;
  pooling: Pooling | null;
  normalize: boolean;
}

type Meta = ort.InferenceSession.ValueMetadata;

function tensorMeta(list: readonly Meta[], name: string): ort.InferenceSession.TensorValueMetadata | undefined {
  const m = list.find((x) => x.name === name);
  return m?.isTensor ? m : undefined;
}

/**
 * Which output of a sentence-transformers graph to read, checked against the entry (dims, rank,
 * inputs the runtime can feed). Throws a ManifestError naming `file`.
 */
export function embedGraphPlan(entry: EmbeddingEntry, session: ort.InferenceSession, file: string): { output: string; pooling: Pooling | null; idType: 'int64' | 'int32' } {
  const fail = (msg: string): never => {
    throw new ManifestError(`embedding model "${entry.id}": ${file}: ${msg}`, entry.id, file);
  };
  const ins = session.inputMetadata;
  let idType: 'int64' | 'int32' = 'int64';
  for (const name of ['input_ids', 'attention_mask']) {
    const m = tensorMeta(ins, name);
    if (!m) fail(`graph has no tensor input "${name}" (inputs: ${session.inputNames.join(', ')})`);
    if (m!.type !== 'int64' && m!.type !== 'int32') fail(`input "${name}" has type ${m!.type}, expected int64 or int32`);
    if (name === 'input_ids') idType = m!.type as 'int64' | 'int32';
  }
  const unknown = session.inputNames.filter((n) => !/^(input_ids|attention_mask|token_type_ids)$/.test(n));
  if (unknown.length) fail(`graph has inputs the runtime cannot feed: ${unknown.join(', ')}`);
  const outs = session.outputMetadata;
  const pooledName = POOLED_OUTPUTS.find((n) => tensorMeta(outs, n));
  // Token states are pooled the way the folder's Pooling module says; a BERT pooler_output
  // (tanh of a dense layer over [CLS]) is not the sentence-transformers vector, so it is the last resort.
  const name = tensorMeta(outs, 'sentence_embedding') ? 'sentence_embedding' : tensorMeta(outs, 'last_hidden_state') ? 'last_hidden_state' : pooledName;
  if (!name) fail(`graph has none of the outputs last_hidden_state, sentence_embedding, pooler_output (outputs: ${session.outputNames.join(', ')})`);
  const m = tensorMeta(outs, name!)!;
  const rank = name === 'last_hidden_state' ? 3 : 2;
  if (m.type !== 'float32') fail(`output "${name}" has type ${m.type}; only float32 embedding outputs are served`);
  if (m.shape.length > 0 && m.shape.length !== rank) fail(`output "${name}" has rank ${m.shape.length}, expected ${rank}`);
  const last = m.shape[m.shape.length - 1];
  if (typeof last === 'number' && last !== entry.dims) fail(`output "${name}" has ${last} features but config.json's hidden size is ${entry.dims}`);
  return { output: name!, pooling: rank === 3 ? (entry.pooling ?? 'mean') : null, idType };
}

export function embedModel(entry: EmbeddingEntry, session: ort.InferenceSession, tokenizer: TextTokenizer, file: string): EmbedModel {
  const base = { entry, session, tokenizer, padId: entry.padTokenId ?? 0, hasTokenTypeIds: session.inputNames.includes('token_type_ids') };
  // The built-in layout (no pooling in its entry) is unchanged: `embeddings`, always normalised.
  if (entry.pooling === undefined) return { ...base, idType: 'int64', output: 'embeddings', pooling: null, normalize: entry.normalize ?? true };
  return { ...base, ...embedGraphPlan(entry, session, file), normalize: entry.normalize ?? false };
}

/** Pools row `r` of token states [B, T, H] over its `len` real (unpadded) tokens into `v`. */
function poolRow(v: Float32Array, h: Float32Array, r: number, T: number, len: number, pooling: Pooling): void {
  const H = v.length;
  const at = (j: number): Float32Array => h.subarray((r * T + j) * H, (r * T + j + 1) * H);
  if (pooling === 'cls') return void v.set(at(0));
  if (pooling === 'lasttoken') return void v.set(at(len - 1));
  v.set(at(0));
  for (let j = 1; j < len; j++) {
    const row = at(j);
    for (let k = 0; k < H; k++) v[k] = pooling === 'max' ? Math.max(v[k]!, row[k]!) : v[k]! + row[k]!;
  }
  if (pooling === 'mean') for (let k = 0; k < H; k++) v[k] = v[k]! / len;
}

/** Scales `v` to unit length in place (a zero vector stays zero) and returns it. */
export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
  return v;
}

/** One embedding per text (a blank text gives a zero vector), in right-padded batches of 32. */
export async function runEmbeddings(
  model: EmbedModel,
  texts: string[],
  run: (feeds: Record<string, ort.Tensor>) => Promise<ort.InferenceSession.OnnxValueMapType>,
): Promise<Float32Array[]> {
  const dims = model.entry.dims;
  const out: Float32Array[] = texts.map(() => new Float32Array(dims));
  // Blank texts get a zero vector without running the model; longer texts keep their first maxTokens tokens.
  const todo = texts
    .map((t, i) => ({ ids: t.trim() === '' ? [] : model.tokenizer.encode(t).slice(0, model.entry.maxTokens), i }))
    .filter((x) => x.ids.length > 0);
  const int = (n: number): bigint | number => (model.idType === 'int64' ? BigInt(n) : n);
  for (let start = 0; start < todo.length; start += EMBED_BATCH) {
    const chunk = todo.slice(start, start + EMBED_BATCH);
    const B = chunk.length;
    const T = Math.max(...chunk.map((c) => c.ids.length));
    const make = (): BigInt64Array | Int32Array => (model.idType === 'int64' ? new BigInt64Array(B * T) : new Int32Array(B * T));
    const ids = make().fill(int(model.padId) as never);
    const mask = make();
    chunk.forEach((c, r) => {
      c.ids.forEach((t, j) => {
        ids[r * T + j] = int(t) as never;
        mask[r * T + j] = int(1) as never;
      });
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor(model.idType, ids, [B, T]),
      attention_mask: new ort.Tensor(model.idType, mask, [B, T]),
    };
    if (model.hasTokenTypeIds) {
      const typeIds = tensorMeta(model.session.inputMetadata, 'token_type_ids')?.type === 'int32' ? new Int32Array(B * T) : new BigInt64Array(B * T);
      feeds.token_type_ids = new ort.Tensor(typeIds instanceof Int32Array ? 'int32' : 'int64', typeIds, [B, T]);
    }
    let result;
    try {
      result = await run(feeds);
    } catch (err) {
      throw new InferenceError('internal', `embedding model "${model.entry.id}" failed: ${(err as Error).message}`, { cause: err });
    }
    const data = (result[model.output] as ort.Tensor).data as Float32Array;
    chunk.forEach((c, r) => {
      const v = out[c.i]!;
      if (model.pooling) poolRow(v, data, r, T, c.ids.length, model.pooling);
      else v.set(data.subarray(r * dims, (r + 1) * dims));
      if (model.normalize) l2normalize(v);
    });
  }
  return out;
}
