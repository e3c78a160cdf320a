// Verifies the committed ONNX models with onnxruntime-node against the PyTorch fixtures and checks the
// KV-cache contract: (a) logits match PyTorch, (b) cached decoding == full recompute, (c) zero-length
// past on the first step, (d) a left-padded batch of 2 == each row alone; plus timings.
//   node models/recipes/verify_onnx.mjs [modelsDir]
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "..", "server", "package.json"));
const ort = require("onnxruntime-node");
const tk = require("@huggingface/tokenizers");
const M = process.argv[2] ?? path.join(here, "..");
const J = (p) => JSON.parse(readFileSync(path.join(M, p), "utf8"));
const manifest = J("manifest.json");
const spec = Object.fromEntries(manifest.models.map((m) => [m.id, m]));
let failures = 0;
const check = (name, ok, extra = "") => { console.log(`${ok ? "PASS" : "FAIL"} ${name} ${extra}`); if (!ok) failures++; };
const maxAbs = (a, b) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };
const opts = { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: "all" };

// ---------------- LM
const lmS = spec["ensemble-story-lm"];
const lmDir = path.join(M, lmS.folder);
const lm = await ort.InferenceSession.create(path.join(lmDir, lmS.files.model), opts);
const { numLayers: L, numKeyValueHeads: H, headDim: D, vocabSize: V } = lmS;
const i64 = (arr, dims) => new ort.Tensor("int64", BigInt64Array.from(arr.map(BigInt)), dims);
function emptyPast(B) { const f = {}; for (let i = 0; i < L; i++) for (const kv of ["key", "value"]) f[`past_key_values.${i}.${kv}`] = new ort.Tensor("float32", new Float32Array(0), [B, H, 0, D]); return f; }
async function lmRun(ids2d, mask2d, past) {
  const B = ids2d.length, T = ids2d[0].length, S = mask2d[0].length, P = S - T;
  const pos = mask2d.map((m) => { const c = []; let s = 0; for (const x of m) { s += x; c.push(Math.max(s - 1, 0)); } return c.slice(P); });
  const feeds = { input_ids: i64(ids2d.flat(), [B, T]), attention_mask: i64(mask2d.flat(), [B, S]), position_ids: i64(pos.flat(), [B, T]), ...(past ?? emptyPast(B)) };
  const out = await lm.run(feeds);
  const pres = {}; for (let i = 0; i < L; i++) for (const kv of ["key", "value"]) pres[`past_key_values.${i}.${kv}`] = out[`present.${i}.${kv}`];
  return { logits: out.logits, past: pres };
}
const row = (logits, b, t) => { const [, T, VV] = logits.dims; return logits.data.subarray((b * T + t) * VV, (b * T + t + 1) * VV); };
const argmax = (a) => { let j = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[j]) j = i; return j; };
const fx = J("fixtures/ensemble-story-lm.json");
const tok = new tk.Tokenizer(J(`${lmS.folder}/${lmS.files.tokenizer}`), J(`${lmS.folder}/${lmS.files.tokenizerConfig}`));
check("lm tokenizer ids == fixture ids", JSON.stringify(tok.encode(fx.prompt).ids) === JSON.stringify(fx.input_ids));
const ids = fx.input_ids, T = ids.length;
const full = await lmRun([ids], [ids.map(() => 1)]);   // (c) zero-length past
let md = 0;
for (let t = 0; t < T; t++) { const r = row(full.logits, 0, t); md = Math.max(md, maxAbs(fx.vocab_subset.map((j) => r[j]), fx.logits[t])); }
check("(a)+(c) logits vs PyTorch (zero-length past)", md < 1e-3, `maxAbs=${md.toExponential(2)}`);
// (b) greedy with KV cache vs fixture (full recompute in PyTorch) and vs ORT full recompute
let seq = [...ids], mask = ids.map(() => 1), cache = full.past, nxt = argmax(row(full.logits, 0, T - 1));
const greedy = [nxt];
for (let s = 1; s < fx.greedy_next_tokens.length; s++) {
  seq.push(nxt); mask.push(1);
  const o = await lmRun([[nxt]], [mask], cache); cache = o.past; nxt = argmax(row(o.logits, 0, 0)); greedy.push(nxt);
}
check("(b) cached greedy == PyTorch full-recompute greedy", JSON.stringify(greedy) === JSON.stringify(fx.greedy_next_tokens), JSON.stringify(greedy));
const fullRe = await lmRun([seq], [seq.map(() => 1)]);
const inc = await lmRun([[seq.at(-1)]], [seq.map(() => 1)], (await lmRun([seq.slice(0, -1)], [seq.slice(0, -1).map(() => 1)])).past);
check("(b) cached step logits == full recompute logits", maxAbs(row(inc.logits, 0, 0), row(fullRe.logits, 0, seq.length - 1)) < 1e-3, `maxAbs=${maxAbs(row(inc.logits, 0, 0), row(fullRe.logits, 0, seq.length - 1)).toExponential(2)}`);
// (d) left-padded batch of 2
const a = tok.encode("Once upon a time, there was a girl").ids, b = tok.encode("The dog").ids;
const W = Math.max(a.length, b.length), pad = (x) => [...Array(W - x.length).fill(lmS.padTokenId), ...x], pm = (x) => [...Array(W - x.length).fill(0), ...x.map(() => 1)];
const batch = await lmRun([pad(a), pad(b)], [pm(a), pm(b)]);
const solo = [await lmRun([a], [a.map(() => 1)]), await lmRun([b], [b.map(() => 1)])];
const d0 = maxAbs(row(batch.logits, 0, W - 1), row(solo[0].logits, 0, a.length - 1)), d1 = maxAbs(row(batch.logits, 1, W - 1), row(solo[1].logits, 0, b.length - 1));
// and one cached step on the padded batch
const ba = await lmRun([[5], [5]], [[...pm(a), 1], [...pm(b), 1]], batch.past);
const sa = await lmRun([[5]], [[...a.map(() => 1), 1]], solo[0].past), sb = await lmRun([[5]], [[...b.map(() => 1), 1]], solo[1].past);
const d2 = Math.max(maxAbs(row(ba.logits, 0, 0), row(sa.logits, 0, 0)), maxAbs(row(ba.logits, 1, 0), row(sb.logits, 0, 0)));
check("(d) left-padded batch == single rows (prefill + 1 cached step)", Math.max(d0, d1, d2) < 1e-3, `maxAbs=${Math.max(d0, d1, d2).toExponential(2)}`);
// timings
const p64 = Array.from({ length: 64 }, (_, i) => 3 + ((i * 37) % (V - 3)));
await lmRun([p64], [p64.map(() => 1)]);
let t0 = performance.now(); for (let i = 0; i < 5; i++) await lmRun([p64], [p64.map(() => 1)]); const ttft = (performance.now() - t0) / 5;
const pre8 = await lmRun(Array(8).fill(p64), Array(8).fill(p64.map(() => 1)));
const pre1 = await lmRun([p64], [p64.map(() => 1)]);
const m65 = p64.map(() => 1).concat([1]);
t0 = performance.now(); for (let i = 0; i < 10; i++) await lmRun(Array(8).fill([7]), Array(8).fill(m65), pre8.past); const step8 = (performance.now() - t0) / 10;
t0 = performance.now(); for (let i = 0; i < 10; i++) await lmRun([[7]], [m65], pre1.past); const step1 = (performance.now() - t0) / 10;
t0 = performance.now(); for (let i = 0; i < 3; i++) await lmRun(Array(8).fill(p64), Array(8).fill(p64.map(() => 1))); const ttft8 = (performance.now() - t0) / 3;
console.log(`TIMING lm prefill 64 tokens (TTFT) ${ttft.toFixed(1)} ms; batch-8 prefill ${ttft8.toFixed(1)} ms; decode step: batch-1 ${step1.toFixed(2)} ms, batch-8 ${step8.toFixed(2)} ms (8 singles ~ ${(8 * step1).toFixed(1)} ms)`);
check("TTFT <= 100 ms", ttft <= 100);

// ---------------- embed
const eS = spec["ensemble-embed"];
const emb = await ort.InferenceSession.create(path.join(M, eS.folder, eS.files.model), opts);
const etok = new tk.Tokenizer(J(`${eS.folder}/${eS.files.tokenizer}`), {});
const efx = J("fixtures/ensemble-embed.json");
const eids = efx.texts.map((t) => etok.encode(t).ids);
check("embed tokenizer ids == fixture ids", JSON.stringify(eids) === JSON.stringify(efx.input_ids));
const ET = Math.max(...eids.map((x) => x.length));
const eo = await emb.run({ input_ids: i64(eids.flatMap((x) => [...x, ...Array(ET - x.length).fill(0)]), [eids.length, ET]), attention_mask: i64(eids.flatMap((x) => [...x.map(() => 1), ...Array(ET - x.length).fill(0)]), [eids.length, ET]) });
check("embed vs PyTorch", maxAbs(eo.embeddings.data, efx.embeddings.flat()) < 1e-4, `maxAbs=${maxAbs(eo.embeddings.data, efx.embeddings.flat()).toExponential(2)} dims=${eo.embeddings.dims}`);

// ---------------- image
const iS = spec["ensemble-emoji-image"];
const img = await ort.InferenceSession.create(path.join(M, iS.folder, iS.files.model), opts);
const ifx = J("fixtures/ensemble-emoji-image.json");
const io = await img.run({ text_embedding: new ort.Tensor("float32", Float32Array.from(ifx.text_embedding.flat()), [1, iS.conditioningDims]), noise: new ort.Tensor("float32", Float32Array.from(ifx.noise.flat()), [1, iS.noiseDims]) });
const S = iS.imageSize, sl = [], [y0, x0] = ifx.slice_origin ?? [12, 12];
for (let c = 0; c < 3; c++) for (let y = y0; y < y0 + 4; y++) for (let x = x0; x < x0 + 4; x++) sl.push(io.image.data[c * S * S + y * S + x]);
check("image vs PyTorch", maxAbs(sl, ifx.image_slice.flat(2)) < 1e-3, `maxAbs=${maxAbs(sl, ifx.image_slice.flat(2)).toExponential(2)} dims=${io.image.dims}`);
// the embedding fed to the image model should be the normalised embed output for the caption
const ce = (await emb.run({ input_ids: i64(etok.encode(ifx.caption).ids, [1, etok.encode(ifx.caption).ids.length]), attention_mask: i64(etok.encode(ifx.caption).ids.map(() => 1), [1, etok.encode(ifx.caption).ids.length]) })).embeddings.data;
const nrm = Math.hypot(...ce);
check("image fixture conditioning == normalised embed(caption)", maxAbs(Array.from(ce, (v) => v / nrm), ifx.text_embedding[0]) < 1e-4);
console.log(failures ? `${failures} FAILED` : "ALL PASSED");
process.exit(failures ? 1 : 0);
