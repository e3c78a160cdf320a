// Tokenization helper used by the Python recipes, so training ids are produced by the exact JS
// library (@huggingface/tokenizers) that the Ensemble runtime uses.
//   node tok.mjs pretok <texts.json> <out.json>                 -> {byteLevelWord: count}
//   node tok.mjs encode <tokenizer.json> <tokenizer_config.json|-> <texts.json> <out.json>
//   node tok.mjs stream <tokenizer.json> <texts.json> <out.u16>  -> <s> ids </s> per text, uint16 LE
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "..", "server", "package.json"));
const tk = require("@huggingface/tokenizers");
const [mode, ...args] = process.argv.slice(2);
if (mode === "pretok") {
  const texts = JSON.parse(readFileSync(args[0], "utf8"));
  const pre = new tk.ByteLevelPreTokenizer({ add_prefix_space: false, use_regex: true, trim_offsets: false });
  const counts = new Map();
  for (const t of texts) for (const w of pre.pre_tokenize_text(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
  writeFileSync(args[1], JSON.stringify(Object.fromEntries(counts)));
} else if (mode === "encode") {
  const tj = JSON.parse(readFileSync(args[0], "utf8"));
  const tc = args[1] === "-" ? {} : JSON.parse(readFileSync(args[1], "utf8"));
  const tok = new tk.Tokenizer(tj, tc);
  const texts = JSON.parse(readFileSync(args[2], "utf8"));
  const out = texts.map((t) => tok.encode(t, { add_special_tokens: false }).ids);
  writeFileSync(args[3], JSON.stringify(out));
} else if (mode === "stream") {
  const tok = new tk.Tokenizer(JSON.parse(readFileSync(args[0], "utf8")), {});
  const texts = JSON.parse(readFileSync(args[1], "utf8"));
  const parts = [];
  for (const t of texts) {
    const ids = tok.encode(t, { add_special_tokens: false }).ids;
    const a = new Uint16Array(ids.length + 2);
    a[0] = 1;
    a.set(ids, 1);
    a[ids.length + 1] = 2;
    parts.push(a);
  }
  const n = parts.reduce((s, a) => s + a.length, 0);
  const all = new Uint16Array(n);
  let o = 0;
  for (const a of parts) { all.set(a, o); o += a.length; }
  writeFileSync(args[2], Buffer.from(all.buffer));
} else {
  console.error("usage: tok.mjs pretok|encode|stream ...");
  process.exit(2);
}
