/** The request bodies of the OpenAI-compatible API (zod), as OpenAI documents them; unknown fields are ignored as OpenAI does. */
import { z } from 'zod';

const stop = z.union([z.string(), z.array(z.string()).max(4)]).nullish();
const sampling = {
  model: z.string().min(1),
  n: z.number().int().min(1).max(16).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stop,
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  user: z.string().optional(),
  // vLLM's sampling extensions, which Ensemble's engine has too (a sync process sends them).
  top_k: z.number().int().min(-1).nullish(),
  repetition_penalty: z.number().gt(0).max(10).nullish(),
  min_tokens: z.number().int().min(0).nullish(),
  ignore_eos: z.boolean().nullish(),
};

export const CompletionBody = z.object({
  ...sampling,
  prompt: z.string(),
  max_tokens: z.number().int().min(1).nullish(),
});
export type CompletionBody = z.infer<typeof CompletionBody>;

const content = z.union([
  z.string(),
  // The text parts of a content array (OpenAI's multi-part messages); other part types are refused.
  z.array(z.object({ type: z.literal('text'), text: z.string() })),
]);
export const ChatBody = z.object({
  ...sampling,
  messages: z.array(z.object({ role: z.enum(['system', 'developer', 'user', 'assistant']), content, name: z.string().optional() })).min(1),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
});
export type ChatBody = z.infer<typeof ChatBody>;

export const EmbeddingBody = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  user: z.string().optional(),
});
export type EmbeddingBody = z.infer<typeof EmbeddingBody>;

export const ImageBody = z.object({
  prompt: z.string().min(1),
  model: z.string().min(1).optional(),
  n: z.number().int().min(1).max(4).nullish(),
  size: z.string().regex(/^\d{2,4}x\d{2,4}$/, 'size must be WIDTHxHEIGHT, e.g. 256x256').nullish(),
  response_format: z.literal('b64_json', { message: "only response_format 'b64_json' is served (no image URLs)" }).optional(),
  /** Ensemble's extension: the same prompt and seed give the same image. */
  seed: z.number().int().min(0).nullish(),
  user: z.string().optional(),
});
export type ImageBody = z.infer<typeof ImageBody>;

/** The text of a message's content (string or text parts). */
export function contentText(c: z.infer<typeof content>): string {
  return typeof c === 'string' ? c : c.map((p) => p.text).join('');
}
