"""Renders models/README.md from README.template.md and the training reports in models/.work/."""
import json, os, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import MODELS, WORK, node_encode

R = lambda n: json.load(open(os.path.join(WORK, n)))
lm, em, im = R("story-lm-report.json"), R("embed-report.json"), R("emoji-image-report.json")
import ast
_l = next(l for l in open(os.path.join(WORK, "lm.log")) if l.startswith("params "))
lm["train_tokens"] = {k: v[0] for k, v in ast.literal_eval(_l.split(" ", 2)[2]).items()}
cfg = json.load(open(os.path.join(MODELS, "story-lm", "config.json")))
mb = lambda p: os.path.getsize(os.path.join(MODELS, p)) / 1e6
verify = open(os.path.join(WORK, "verify.log")).read()
def vline(key):
    for l in verify.splitlines():
        if key in l:
            return l.split(" ", 1)[1].split(") ", 1)[-1] if "maxAbs" not in l else l[l.index("maxAbs"):]
    return "?"
timing = next((l[len("TIMING "):] for l in verify.splitlines() if l.startswith("TIMING")), "?")
fmt_t = lambda s: f"{s/60:.1f} min ({s:.0f} s)"
rows = []
for k in ["tinystories", "sherlock", "shakespeare", "all"]:
    h = lm["heldout"][k]
    lam = f" (λ={h['bigram_lambda']})" if "bigram_lambda" in h else ""
    rows.append(f"| {k} | {h['tokens']} | **{h['lm_ppl']:.1f}** | {h['bigram_interpolated_ppl']:.1f}{lam} | {h['bigram_add_one_ppl']:.1f} |")
tj = os.path.join(MODELS, "story-lm", "tokenizer.json")
samples = ["Samples (temperature 0.8, seed 7, from `train_lm.py`):", ""]
import subprocess
dec = subprocess.run(["node", "-e", """
const {createRequire}=require('module');const r=createRequire(process.argv[1]);const tk=r('@huggingface/tokenizers');
const fs=require('fs');const t=new tk.Tokenizer(JSON.parse(fs.readFileSync(process.argv[2])),{});
const ids=JSON.parse(fs.readFileSync(0,'utf8'));console.log(JSON.stringify(ids.map(x=>t.decode(x,{skip_special_tokens:true}))));
""", os.path.join(MODELS, "..", "server", "package.json"), tj], input=json.dumps(lm["sample_ids"]), capture_output=True, text=True, check=True)
for s in json.loads(dec.stdout):
    samples.append("> " + s.replace("\n", " ⏎ ").strip())
    samples.append("")
m = im["metrics"]
img_metrics = (f"top-1 {m['noise0']['top1']:.1%} / top-5 {m['noise0']['top5']:.1%} with zero noise, top-1 "
               f"{m['noise_random']['top1']:.1%} / top-5 {m['noise_random']['top5']:.1%} with random noise, vs chance "
               f"{m['chance_top1']:.2%} / {m['chance_top5']:.2%}; control (each image scored against a shuffled "
               f"caption's output): top-1 {m['control_shuffled_condition']['top1']:.2%}.")
prompts = "\n".join(f"- \"{p}\" → {', '.join(v)}" for p, v in m["prompts_nearest_training_names"].items())
total = sum(mb(p) for p in ["story-lm/onnx/model.onnx", "embed/onnx/model.onnx", "emoji-image/onnx/model.onnx",
                            "story-lm/tokenizer.json", "embed/tokenizer.json"])
emb_pt = em["vocab_size"] * em["dims"]
vals = {
    "TOTAL_MB": f"{total:.1f}", "LM_MB": f"{mb('story-lm/onnx/model.onnx'):.1f}", "LM_PARAMS": f"{lm['params']:,}",
    "EMB_MB": f"{mb('embed/onnx/model.onnx'):.1f}", "EMB_PARAMS": f"{emb_pt:,}",
    "IMG_MB": f"{mb('emoji-image/onnx/model.onnx'):.1f}", "IMG_PARAMS": f"{im['decoder_params']:,} (decoder)",
    "LM_LAYERS": cfg["num_hidden_layers"], "LM_HIDDEN": cfg["hidden_size"], "LM_HEADS": cfg["num_attention_heads"],
    "LM_HEADDIM": cfg["hidden_size"] // cfg["num_attention_heads"], "LM_KVHEADS": cfg["num_key_value_heads"],
    "LM_FFN": cfg["intermediate_size"], "LM_STEPS": lm["train_steps"], "LM_BEST": lm["best_step"],
    "LM_TOKENS": f"{lm['train_steps'] * lm['batch'] * lm['seq']:,}", "LM_TIME": fmt_t(lm["train_seconds"]),
    "TOK_TS": f"{lm.get('train_tokens', {}).get('tinystories', '?'):,}" if lm.get("train_tokens") else "?",
    "TOK_SH": f"{lm.get('train_tokens', {}).get('sherlock', '?'):,}" if lm.get("train_tokens") else "?",
    "TOK_SP": f"{lm.get('train_tokens', {}).get('shakespeare', '?'):,}" if lm.get("train_tokens") else "?",
    "PPL_ROWS": "\n".join(rows), "LM_SAMPLES": "\n".join(samples),
    "V_A": vline("(a)"), "V_B": vline("cached step logits"), "V_D": vline("(d)"), "TIMING": timing,
    "EMB_VOCAB": f"{em['vocab_size']:,}", "EMB_EPOCHS": em["epochs"], "EMB_TIME": fmt_t(em["train_seconds"]),
    "EMB_PARA": f"{em['paraphrase_mean_cos']:.3f}", "EMB_RAND": f"{em['random_pair_mean_cos']:.3f}",
    "EMB_BEATS": f"{em['frac_paraphrase_beats_all_random_in_row']:.0%}", "EMB_PAIRWISE": f"{em['frac_pairwise_paraphrase_beats_random']:.1%}",
    "EMB_NN_MOON": ", ".join(em["nearest_words"]["moon"][:4]), "EMB_NN_SUN": ", ".join(em["nearest_words"]["sun"][:4]),
    "IMG_N": im["images"], "IMG_CAPS": f"{im['captions']:,}", "IMG_STEPS": im["steps"], "IMG_TIME": fmt_t(im["train_seconds"]),
    "IMG_METRICS": img_metrics, "IMG_PROMPTS": prompts,
}
t = open(os.path.join(os.path.dirname(__file__), "README.template.md")).read()
for k, v in vals.items():
    t = t.replace("{{" + k + "}}", str(v))
assert "{{" not in t, [l for l in t.splitlines() if "{{" in l]
open(os.path.join(MODELS, "README.md"), "w").write(t)
print("README written")
