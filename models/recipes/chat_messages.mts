// Writes each proposal mode's chat messages, as the agent builds them for an instruct model, to
// models/recipes/chat_messages.json (the input of chat_template_refs.py).
// Run: npx tsx models/recipes/chat_messages.mts && /usr/bin/python3 models/recipes/chat_template_refs.py
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { recipeMessages } from '../../test/agent/chat-recipe-cases';

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'chat_messages.json');
fs.writeFileSync(out, JSON.stringify(recipeMessages(), null, 2) + '\n');
console.log(`wrote ${path.relative(process.cwd(), out)}`);
