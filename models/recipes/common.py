"""Shared helpers for the Ensemble model recipes (data loading, node tokenizer bridge)."""
import argparse, json, os, random, subprocess, tempfile
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)                      # <repo>/models
REPO = os.path.dirname(MODELS)                      # <repo>
DATA = os.environ.get("ENSEMBLE_DATA_DIR", os.path.join(os.path.dirname(REPO), "shared", "data"))
CORPORA = os.path.join(DATA, "corpora")
WORK = os.path.join(MODELS, ".work")
os.makedirs(WORK, exist_ok=True)
NODE = os.environ.get("NODE", "node")


def seed_all(seed=1234, threads=2):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)


def _read(name):
    with open(os.path.join(CORPORA, name), encoding="utf-8") as f:
        return f.read().replace("\r\n", "\n")


def _paras(text):
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def _group(paras, max_chars):
    docs, cur = [], []
    for p in paras:
        cur.append(p)
        if sum(len(x) for x in cur) >= max_chars:
            docs.append("\n\n".join(cur)); cur = []
    if cur:
        docs.append("\n\n".join(cur))
    return docs


def load_docs():
    """Returns {corpus: (train_docs, heldout_docs)}. The held-out split is the last 5% of each
    corpus's documents (contiguous tail, deterministic)."""
    out = {}
    # TinyStories sample: paragraphs separated by blank lines; a story starts with "Once upon a
    # time" or after 3 paragraphs (the sample has no explicit separator).
    docs, cur = [], []
    for p in _paras(_read("tinystories-sample.txt")):
        if cur and (p.startswith("Once upon a time") or len(cur) >= 3):
            docs.append("\n\n".join(cur)); cur = []
        cur.append(p)
    if cur:
        docs.append("\n\n".join(cur))
    out["tinystories"] = docs
    # Sherlock Holmes: strip the Project Gutenberg header and licence, unwrap hard-wrapped lines.
    lines = _read("adventures-of-sherlock-holmes.txt").split("\n")
    s = next(i for i, l in enumerate(lines) if l.startswith("*** START OF"))
    e = next(i for i, l in enumerate(lines) if l.startswith("*** END OF"))
    body = "\n".join(lines[s + 1:e])
    body = body.replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'").replace("\u2019", "'")
    paras = [" ".join(x.split()) for x in _paras(body)]
    out["sherlock"] = _group(paras, 1200)
    # Tiny Shakespeare: keep line breaks, group speeches into ~1200-char documents.
    out["shakespeare"] = _group(_paras(_read("tinyshakespeare.txt")), 1200)
    res = {}
    for k, d in out.items():
        n = max(1, int(round(len(d) * 0.05)))
        res[k] = (d[:-n], d[-n:])
    return res


def node_encode(tokenizer_json, tokenizer_config, texts):
    with tempfile.TemporaryDirectory(dir=WORK) as td:
        inp, outp = os.path.join(td, "in.json"), os.path.join(td, "out.json")
        with open(inp, "w") as f:
            json.dump(texts, f)
        subprocess.run([NODE, os.path.join(HERE, "tok.mjs"), "encode", tokenizer_json,
                        tokenizer_config or "-", inp, outp], check=True)
        with open(outp) as f:
            return json.load(f)


def node_pretok_counts(texts):
    with tempfile.TemporaryDirectory(dir=WORK) as td:
        inp, outp = os.path.join(td, "in.json"), os.path.join(td, "out.json")
        with open(inp, "w") as f:
            json.dump(texts, f)
        subprocess.run([NODE, os.path.join(HERE, "tok.mjs"), "pretok", inp, outp], check=True)
        with open(outp) as f:
            return json.load(f)


def write_json(path, obj, indent=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=indent, ensure_ascii=False)
        f.write("\n")


def training_args(steps, batch, lr, **extra):
    """The flags every training recipe takes (steps, batch, lr, threads, time budget) plus `extra`:
    name -> (type, default, help)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=steps)
    ap.add_argument("--batch", type=int, default=batch)
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--time-budget", type=float, default=0, help="stop training after this many seconds (0 = off)")
    for name, (kind, default, help_text) in extra.items():
        ap.add_argument("--" + name.replace("_", "-"), type=kind, default=default, help=help_text)
    return ap.parse_args()
