/**
 * Chat templates: the Jinja `chat_template` a Hugging Face model folder ships in
 * tokenizer_config.json (or chat_template.jinja / chat_template.json beside it), rendered with
 * `@huggingface/jinja` exactly as transformers.js' `apply_chat_template` does, plus the stop ids
 * of generation_config.json. A folder without a template is a base model (`loadChatTemplate` → null).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Template } from '@huggingface/jinja';
import { ManifestError } from './errors';
import { eosIds, type TextGenerationEntry } from './manifest';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** The template that `chat_template` holds when it is a list of named templates and none is asked for. */
export const DEFAULT_TEMPLATE_NAME = 'default';

/** A special token in tokenizer_config.json: a string or an AddedToken object `{ content }`. */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') return (value as { content: string }).content;
  return undefined;
}

/** `eos_token_id` of generation_config.json / config.json: one id or a list. */
export function stopIdsOf(value: unknown): number[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return list.filter((v): v is number => Number.isInteger(v) && (v as number) >= 0);
}

/**
 * The template text from a `chat_template` value: a string, or the list form
 * `[{ name, template }]` (transformers picks "default" unless a name is given).
 * Returns null when there is none; throws on a malformed value.
 */
export function pickTemplate(value: unknown, name?: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value.trim() ? value : null;
  if (!Array.isArray(value)) throw new Error('chat_template must be a string or a list of { name, template }');
  const named = new Map<string, string>();
  for (const item of value) {
    const n = (item as { name?: unknown })?.name;
    const t = (item as { template?: unknown })?.template;
    if (typeof n !== 'string' || typeof t !== 'string') throw new Error('each entry of chat_template must be { name: string, template: string }');
    named.set(n, t);
  }
  const wanted = name ?? DEFAULT_TEMPLATE_NAME;
  const found = named.get(wanted);
  if (found !== undefined) return found;
  if (name === undefined && named.size === 1) return [...named.values()][0]!;
  throw new Error(`chat_template has no template named "${wanted}" (it has: ${[...named.keys()].join(', ') || 'none'})`);
}

export interface ChatTemplateOptions {
  /** The special tokens the template may use (bos_token, eos_token, unk_token, pad_token). */
  specialTokens?: Record<string, string>;
  /** Token ids that end an assistant turn (generation_config.json's eos_token_id). */
  stopIds?: number[];
}

export class ChatTemplate {
  private readonly template: Template;
  readonly specialTokens: Readonly<Record<string, string>>;
  /** Ids that end the model's turn; the scheduler stops on any of them. */
  readonly stopIds: readonly number[];

  constructor(
    readonly source: string,
    options: ChatTemplateOptions = {},
  ) {
    this.template = new Template(source);
    this.specialTokens = { ...options.specialTokens };
    this.stopIds = [...new Set(options.stopIds ?? [])];
  }

  /**
   * The text for `messages` with the prompt for the assistant's turn appended
   * (`add_generation_prompt`). The template's own `raise_exception` (e.g. "roles must alternate")
   * surfaces as an Error with its message.
   */
  render(messages: readonly ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
    return this.template.render({
      ...this.specialTokens,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: options.addGenerationPrompt ?? true,
    });
  }

  /**
   * From the parsed JSON of tokenizer_config.json (and generation_config.json); null when the
   * config has no `chat_template` (a base model). `templateOverride` is a template found
   * elsewhere in the folder (chat_template.jinja).
   */
  static fromConfigs(
    tokenizerConfig: Record<string, unknown>,
    generationConfig: Record<string, unknown> = {},
    options: { name?: string; templateOverride?: string } = {},
  ): ChatTemplate | null {
    const source = options.templateOverride ?? pickTemplate(tokenizerConfig.chat_template, options.name);
    if (source === null) return null;
    const specialTokens: Record<string, string> = {};
    for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
      const t = tokenText(tokenizerConfig[key]);
      if (t !== undefined) specialTokens[key] = t;
    }
    return new ChatTemplate(source, { specialTokens, stopIds: stopIdsOf(generationConfig.eos_token_id) });
  }
}

function readJson(file: string): Record<string, unknown> | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error('not a JSON object');
    return json as Record<string, unknown>;
  } catch (err) {
    throw new ManifestError(`${file} is not valid JSON: ${(err as Error).message}`, undefined, file, { cause: err });
  }
}

/**
 * The chat template of the model in `folder` (tokenizer_config.json's `chat_template`, else
 * chat_template.jinja, else chat_template.json) with generation_config.json's stop ids; null for
 * a base model. A template that does not parse is a ManifestError naming the file.
 */
export function loadChatTemplate(folder: string, options: { tokenizerConfig?: string; name?: string; modelId?: string } = {}): ChatTemplate | null {
  const configFile = options.tokenizerConfig ?? path.join(folder, 'tokenizer_config.json');
  const tokenizerConfig = readJson(configFile) ?? {};
  const generationConfig = readJson(path.join(folder, 'generation_config.json')) ?? {};
  let file = configFile;
  let templateOverride: string | undefined;
  if (tokenizerConfig.chat_template === undefined || tokenizerConfig.chat_template === null) {
    const jinjaFile = path.join(folder, 'chat_template.jinja');
    const jsonFile = path.join(folder, 'chat_template.json');
    if (fs.existsSync(jinjaFile)) {
      file = jinjaFile;
      templateOverride = fs.readFileSync(jinjaFile, 'utf8');
    } else if (fs.existsSync(jsonFile)) {
      file = jsonFile;
      const t = readJson(jsonFile)?.chat_template;
      if (typeof t === 'string') templateOverride = t;
    }
  }
  try {
    return ChatTemplate.fromConfigs(tokenizerConfig, generationConfig, { ...(options.name ? { name: options.name } : {}), ...(templateOverride !== undefined ? { templateOverride } : {}) });
  } catch (err) {
    const who = options.modelId ? `model "${options.modelId}": ` : '';
    throw new ManifestError(`${who}cannot read the chat template in ${file}: ${(err as Error).message}`, options.modelId, file, { cause: err });
  }
}

/** generation_config.json's `eos_token_id` in `folder` ([] when the file or the field is absent). */
export function generationStopIds(folder: string): number[] {
  return stopIdsOf(readJson(path.join(folder, 'generation_config.json'))?.eos_token_id);
}

/**
 * The entry the scheduler serves: its own end-of-sequence ids plus every extra stop id
 * (generation_config.json lists e.g. both <|im_end|> and <|endoftext|>), so a turn ends on any.
 */
export function withStopIds(entry: TextGenerationEntry, extra: readonly number[]): TextGenerationEntry {
  const all = [...new Set([...eosIds(entry), ...extra])];
  return all.length === eosIds(entry).length ? entry : { ...entry, eosTokenId: all };
}
