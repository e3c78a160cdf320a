#!/usr/bin/env python3
"""Reference chat-template renderings for test/inference/chat-template.test.ts.

Renders each proposal mode's messages through a few chat templates in the common styles with
Python jinja2 configured the way transformers' `apply_chat_template` configures it
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, `raise_exception`,
`tojson` as json.dumps(ensure_ascii=False)), and writes template + messages + expected string to
test/inference/fixtures/chat-templates/<name>.json. The templates are our own, written in the
styles real models use (ChatML as Qwen, Llama 3 header ids, Gemma turns, a list of named templates).

Run: npx tsx models/recipes/chat_messages.mts   (the agent's messages for each mode)
     apt-get install -y python3-jinja2 && /usr/bin/python3 models/recipes/chat_template_refs.py
"""
import json
import os
import sys

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.ext import loopcontrols

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "test", "inference", "fixtures", "chat-templates")

# ChatML, Qwen2.5 style: a default system message when the conversation has none.
CHATML = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}\n"
    "{%- for message in messages %}\n"
    "    {%- if message.role == 'system' and loop.first %}{% continue %}{% endif %}\n"
    "    {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n"
)

# Llama 3 style: BOS, header ids, trimmed content, <|eot_id|> after each turn.
LLAMA3 = (
    "{% set loop_messages = messages %}"
    "{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

# Gemma style: no system role (the system text is folded into the first user turn), roles must
# alternate (raise_exception), the assistant is "model".
GEMMA = (
    "{{ bos_token }}"
    "{% if messages[0]['role'] == 'system' %}"
    "{% set first_user_prefix = messages[0]['content'] + '\n\n' %}"
    "{% set loop_messages = messages[1:] %}"
    "{% else %}"
    "{% set first_user_prefix = '' %}"
    "{% set loop_messages = messages %}"
    "{% endif %}"
    "{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}"
    "{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)

# The list form (as Hermes / Command R ship it): named templates, "default" is the one used.
# The default one records each turn's metadata through tojson (unicode kept, as ensure_ascii=False).
LIST_DEFAULT = (
    "{%- for message in messages %}\n"
    "    {{- '<|turn|>' + message.role + ' ' + {'chars': message.content | length, 'role': message.role} | tojson + '\\n' }}\n"
    "    {{- message.content + eos_token + '\\n' }}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}{{- '<|turn|>assistant\\n' }}{%- endif %}\n"
)
LIST_TOOL_USE = "{{ 'tool use is not what this test renders' }}"

# Each mode's messages exactly as the agent builds them (PromptBuilder with instruct: true) for the
# canonical story of test/agent/chat-recipe-cases.ts, written by chat_messages.mts.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "chat_messages.json"), encoding="utf-8") as f:
    MODE_MESSAGES = json.load(f)

ROLE = MODE_MESSAGES["continue"][0]["content"].split("\n\n")[0]

# A longer conversation: an earlier assistant turn (roles alternate; Gemma accepts it).
MULTI_TURN = [
    {"role": "system", "content": ROLE},
    {"role": "user", "content": "Give me a first line."},
    {"role": "assistant", "content": "  The fog arrived before the mail boat did.  "},
    {"role": "user", "content": "Another one, darker."},
]


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers' own tojson filter
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


def render(source, messages, special, add_generation_prompt=True):
    return environment().from_string(source).render(messages=messages, add_generation_prompt=add_generation_prompt, **special)


def token_text(value):
    # tokenizer_config.json holds a special token as a string or an AddedToken object; transformers renders its text
    return value["content"] if isinstance(value, dict) else value


def build(name, chat_template, default_source, tokens, cases_extra=(), errors=()):
    tokenizer_config = {**tokens, "chat_template": chat_template}
    special = {k: token_text(v) for k, v in tokens.items() if v is not None}
    cases = []
    for mode, messages in MODE_MESSAGES.items():
        cases.append({"name": mode, "messages": messages, "expected": render(default_source, messages, special)})
    for case_name, messages in cases_extra:
        cases.append({"name": case_name, "messages": messages, "expected": render(default_source, messages, special)})
    err_cases = []
    for case_name, messages in errors:
        try:
            render(default_source, messages, special)
        except jinja2.exceptions.TemplateError as e:
            err_cases.append({"name": case_name, "messages": messages, "error": str(e)})
            continue
        sys.exit(f"{name}/{case_name}: expected the template to raise")
    doc = {
        "name": name,
        "generator": "models/recipes/chat_template_refs.py (Python jinja2 %s, transformers-style environment)" % jinja2.__version__,
        "tokenizer_config": tokenizer_config,
        "cases": cases,
        "errors": err_cases,
    }
    path = os.path.join(OUT, f"{name}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=2)
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)} ({len(cases)} renderings, {len(err_cases)} errors)")


def main():
    os.makedirs(OUT, exist_ok=True)
    no_system = [m for m in MODE_MESSAGES["continue"] if m["role"] != "system"]
    build("chatml", CHATML, CHATML, {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
          cases_extra=[("multi-turn", MULTI_TURN), ("no-system", no_system)])
    build("llama3", LLAMA3, LLAMA3, {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
          cases_extra=[("multi-turn", MULTI_TURN)])
    build("gemma", GEMMA, GEMMA, {"bos_token": {"content": "<bos>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "__type": "AddedToken"}, "eos_token": "<eos>"},
          cases_extra=[("multi-turn", MULTI_TURN), ("no-system", no_system)],
          errors=[("roles-do-not-alternate", [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])])
    build("named-list", [{"name": "tool_use", "template": LIST_TOOL_USE}, {"name": "default", "template": LIST_DEFAULT}], LIST_DEFAULT,
          {"bos_token": "<s>", "eos_token": "</s>"}, cases_extra=[("multi-turn", MULTI_TURN)])


if __name__ == "__main__":
    main()
