"""Shared helpers for the Ensemble model recipes (data loading, node tokenizer bridge)."""
import argparse, json, os, random, re, subprocess, tempfile
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


# UTF-8 punctuation that was decoded as cp1252 ("“" -> "â€œ"). The closing double quote's last
# byte (0x9D) has no cp1252 character and was dropped, so it is left as a bare "â€": that one goes
# last, after every longer sequence has been replaced.
_MOJIBAKE = [("\u00e2\u20ac\u0153", "\u201c"), ("\u00e2\u20ac\u009d", "\u201d"), ("\u00e2\u20ac\u2122", "\u2019"),
             ("\u00e2\u20ac\u02dc", "\u2018"), ("\u00e2\u20ac\u201d", "\u2014"), ("\u00e2\u20ac\u201c", "\u2013"),
             ("\u00e2\u20ac\u00a6", "\u2026"), ("\u00e2\u20ac", "\u201d")]
# Any other double-decoded character: a UTF-8 lead byte (as cp1252: U+00C2..U+00F4) and as many
# continuation bytes (cp1252's characters for 0x80..0xBF) as it needs, repaired only where it round-trips.
_CONT = ("[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014"
         "\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]")
_MOJIBAKE_RUN = re.compile(f"[\u00c2-\u00df]{_CONT}|[\u00e0-\u00ef]{_CONT}{{2}}|[\u00f0-\u00f4]{_CONT}{{3}}")


def _redecode(m):
    try:
        return m.group(0).encode("cp1252").decode("utf-8")
    except UnicodeError:
        return m.group(0)


def fix_mojibake(text):
    """Undoes UTF-8 text that was decoded as cp1252 (the TinyStories sample's "â€œ" for "“")."""
    for bad, good in _MOJIBAKE:
        text = text.replace(bad, good)
    return _MOJIBAKE_RUN.sub(_redecode, text)


def ascii_quotes(text):
    """Curly quotes as straight ones: the corpora mostly use ASCII quotes, and one spelling is one token."""
    return text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'").replace("\u2019", "'")


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
    for p in _paras(ascii_quotes(fix_mojibake(_read("tinystories-sample.txt")))):
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
    body = ascii_quotes(body)
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


CACHE = os.path.join(MODELS, ".cache")             # tokenized corpora (git-ignored)


def node_encode_stream(tokenizer_json, texts):
    """`<s> ids </s>` of every text, concatenated, as an int64 array; ids from the runtime's
    tokenizer. Cached in models/.cache/ under a hash of the tokenizer and the texts."""
    import hashlib
    h = hashlib.sha256()
    with open(tokenizer_json, "rb") as f:
        h.update(f.read())
    for t in texts:
        h.update(t.encode("utf-8")); h.update(b"\0")
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, h.hexdigest()[:20] + ".npy")
    if not os.path.exists(path):
        with tempfile.TemporaryDirectory(dir=WORK) as td:
            inp, outp = os.path.join(td, "in.json"), os.path.join(td, "out.u16")
            with open(inp, "w") as f:
                json.dump(texts, f)
            subprocess.run([NODE, "--max-old-space-size=4096", os.path.join(HERE, "tok.mjs"), "stream",
                            tokenizer_json, inp, outp], check=True)
            np.save(path, np.fromfile(outp, dtype="<u2"))
    return np.load(path).astype(np.int64)


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
