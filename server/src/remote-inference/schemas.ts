/**
 * What a remote OpenAI-compatible engine may answer, checked at the boundary (zod): a model list,
 * completion and chat chunks (streamed), embeddings, images. Only the fields Ensemble reads are
 * required; engines add their own (vLLM's max_model_len, llama.cpp's meta), which are kept.
 */
import { z } from 'zod';

const finish = z.string().nullish();
const usage = z.object({ prompt_tokens: z.number().int().min(0), completion_tokens: z.number().int().min(0) }).partial().nullish();

export const RemoteModel = z
  .object({
    id: z.string().min(1),
    /** Ensemble's own extensions (an Ensemble inference worker lists every task it serves). */
    task: z.enum(['text-generation', 'embedding', 'image-generation']).optional(),
    instruct: z.boolean().optional(),
    /** vLLM's name for the context length; Ensemble answers it too. */
    max_model_len: z.number().int().positive().optional(),
    /** llama.cpp's server: the GGUF's metadata. */
    meta: z.object({ n_ctx_train: z.number().int().positive().optional() }).passthrough().nullish(),
  })
  .passthrough();
export type RemoteModel = z.infer<typeof RemoteModel>;
export const ModelList = z.array(RemoteModel);

export const CompletionChunk = z.object({
  choices: z.array(z.object({ index: z.number().int().min(0).optional(), text: z.string().nullish(), finish_reason: finish })),
  usage,
});
export type CompletionChunk = z.infer<typeof CompletionChunk>;

export const ChatChunk = z.object({
  choices: z.array(
    z.object({
      index: z.number().int().min(0).optional(),
      delta: z.object({ content: z.string().nullish(), role: z.string().nullish() }).passthrough().nullish(),
      finish_reason: finish,
    }),
  ),
  usage,
});
export type ChatChunk = z.infer<typeof ChatChunk>;

export const EmbeddingResponse = z.object({
  data: z.array(z.object({ index: z.number().int().min(0), embedding: z.array(z.number()).min(1) })).min(1),
});

export const ImageResponse = z.object({
  data: z.array(z.object({ b64_json: z.string().min(1) })).min(1),
});

/** One readable line of what is wrong with a response, for logs and for the error every member sees. */
export function describeIssue(error: z.ZodError): string {
  const first = error.issues[0];
  if (!first) return 'unexpected shape';
  return `${first.path.length > 0 ? first.path.join('.') : 'body'}: ${first.message}`;
}
