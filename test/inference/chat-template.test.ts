import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChatTemplate, loadChatTemplate, pickTemplate, stopIdsOf, type ChatMessage } from '../../server/src/inference/chat-template';
import { ManifestError } from '../../server/src/inference/errors';

interface RefFile {
  name: string;
  tokenizer_config: Record<string, unknown>;
  cases: Array<{ name: string; messages: ChatMessage[]; expected: string }>;
  errors: Array<{ name: string; messages: ChatMessage[]; error: string }>;
}

const REFS = path.join(__dirname, 'fixtures', 'chat-templates');
const refs: RefFile[] = fs
  .readdirSync(REFS)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(fs.readFileSync(path.join(REFS, f), 'utf8')) as RefFile);

function tmpFolder(files: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-chat-'));
  for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), typeof body === 'string' ? body : JSON.stringify(body));
  return dir;
}

describe('chat templates match the Python jinja2 reference (models/recipes/chat_template_refs.py)', () => {
  it('has the reference files of every style', () => {
    expect(refs.map((r) => r.name)).toEqual(['chatml', 'gemma', 'llama3', 'named-list']);
  });

  for (const ref of refs) {
    describe(ref.name, () => {
      const template = ChatTemplate.fromConfigs(ref.tokenizer_config)!;
      for (const c of ref.cases) {
        it(`renders "${c.name}" byte for byte`, () => {
          expect(template.render(c.messages)).toBe(c.expected);
        });
      }
      for (const e of ref.errors) {
        it(`raises the template's own error for "${e.name}"`, () => {
          expect(() => template.render(e.messages)).toThrow(e.error);
        });
      }
    });
  }

  it('ends with the assistant prompt only when add_generation_prompt is on', () => {
    const chatml = ChatTemplate.fromConfigs(refs.find((r) => r.name === 'chatml')!.tokenizer_config)!;
    const msgs: ChatMessage[] = [{ role: 'user', content: 'hi' }];
    expect(chatml.render(msgs)).toMatch(/<\|im_start\|>assistant\n$/);
    expect(chatml.render(msgs, { addGenerationPrompt: false })).toMatch(/hi<\|im_end\|>\n$/);
  });
});

describe('the list form of chat_template', () => {
  const list = [
    { name: 'tool_use', template: 'TOOLS' },
    { name: 'default', template: 'DEFAULT {{ messages | length }}' },
  ];
  it('picks "default", or the one named', () => {
    expect(pickTemplate(list)).toBe('DEFAULT {{ messages | length }}');
    expect(pickTemplate(list, 'tool_use')).toBe('TOOLS');
    expect(ChatTemplate.fromConfigs({ chat_template: list })!.render([{ role: 'user', content: 'x' }])).toBe('DEFAULT 1');
  });
  it('takes a single unnamed-default entry, refuses an unknown name and a malformed list', () => {
    expect(pickTemplate([{ name: 'chat', template: 'C' }])).toBe('C');
    expect(() => pickTemplate(list, 'rag')).toThrow('no template named "rag" (it has: tool_use, default)');
    expect(() => pickTemplate([{ name: 'default' }])).toThrow('{ name: string, template: string }');
    expect(() => pickTemplate(42)).toThrow('a string or a list');
  });
});

describe('loadChatTemplate(folder)', () => {
  it('is null for a base model (no chat_template anywhere)', () => {
    expect(loadChatTemplate(tmpFolder({ 'tokenizer_config.json': { eos_token: '</s>' } }))).toBeNull();
    expect(loadChatTemplate(tmpFolder({}))).toBeNull();
    expect(ChatTemplate.fromConfigs({ chat_template: '   ' })).toBeNull();
  });

  it('reads bos/eos from tokenizer_config.json and every stop id from generation_config.json', () => {
    const dir = tmpFolder({
      'tokenizer_config.json': { bos_token: { content: '<B>' }, eos_token: '<E>', chat_template: '{{ bos_token }}{{ messages[0].content }}{{ eos_token }}' },
      'generation_config.json': { bos_token_id: 1, eos_token_id: [7, 9, 7] },
    });
    const t = loadChatTemplate(dir)!;
    expect(t.render([{ role: 'user', content: 'x' }])).toBe('<B>x<E>');
    expect(t.stopIds).toEqual([7, 9]);
    const single = loadChatTemplate(tmpFolder({ 'tokenizer_config.json': { chat_template: 'x' }, 'generation_config.json': { eos_token_id: 3 } }))!;
    expect(single.stopIds).toEqual([3]);
  });

  it('falls back to chat_template.jinja beside the config', () => {
    const dir = tmpFolder({ 'tokenizer_config.json': {}, 'chat_template.jinja': '{% for m in messages %}[{{ m.role }}]{% endfor %}' });
    expect(loadChatTemplate(dir)!.render([{ role: 'system', content: 'a' }, { role: 'user', content: 'b' }])).toBe('[system][user]');
  });

  it('names the file when the template does not parse or the JSON is bad', () => {
    const bad = tmpFolder({ 'tokenizer_config.json': { chat_template: '{% for m in messages %}' } });
    expect(() => loadChatTemplate(bad, { modelId: 'm1' })).toThrow(ManifestError);
    expect(() => loadChatTemplate(bad, { modelId: 'm1' })).toThrow(`model "m1": cannot read the chat template in ${path.join(bad, 'tokenizer_config.json')}`);
    const junk = tmpFolder({ 'tokenizer_config.json': '{ nope' });
    expect(() => loadChatTemplate(junk)).toThrow(/tokenizer_config\.json is not valid JSON/);
  });

  it('stopIdsOf reads one id, a list, or nothing', () => {
    expect(stopIdsOf(2)).toEqual([2]);
    expect(stopIdsOf([1, 2])).toEqual([1, 2]);
    expect(stopIdsOf(undefined)).toEqual([]);
    expect(stopIdsOf(['x', -1, 1.5])).toEqual([]);
  });
});
