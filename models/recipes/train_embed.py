"""Ensemble text embedding model: word-level tokenizer (HF tokenizers WordPiece model holding whole
words only, so it behaves as a word-level lookup with [UNK]; lowercase normalizer, Whitespace
pre-tokenizer), 128-d skip-gram/negative-sampling word vectors trained on the corpora (+ the
Unicode emoji names, so the image generator's vocabulary is covered), pooled with SIF weights
a/(a+p(w)) and first-principal-component removal, all baked into the ONNX graph."""
import argparse, collections, json, math, os, re, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
import torch
import torch.nn as nn
from common import MODELS, WORK, load_docs, node_encode, seed_all, write_json
import emoji_data

OUT = os.path.join(MODELS, "embed")
DIMS = 128
SIF_A = 1e-3
PRETOK = re.compile(r"\w+|[^\w\s]+", re.ASCII)   # same as the JS Whitespace pre-tokenizer

PARAPHRASES = [
    ("the cat is sleeping on the bed", "a kitten naps on the bed"),
    ("the little girl went to the park", "a small girl walked to the park"),
    ("he was very happy", "he felt so glad"),
    ("the dog ran after the ball", "a dog chased the ball"),
    ("it was a dark and cold night", "the night was cold and dark"),
    ("she gave her mother a big hug", "she hugged her mom"),
    ("the sun was shining in the sky", "the bright sun shone in the sky"),
    ("they played together all day", "they had fun playing all day long"),
    ("holmes examined the letter carefully", "holmes looked closely at the letter"),
    ("the king is dead", "the king has died"),
    ("a red heart", "a heart that is red"),
    ("a cat under the moon", "a kitten beneath the moon at night"),
    ("the boy was scared of the big dog", "the big dog frightened the boy"),
    ("we should go home now", "it is time to go home"),
    ("the bird flew up into the tree", "a bird flew into the tree"),
    ("i am hungry and want to eat", "i want some food to eat"),
    ("the old man sat by the fire", "an old man was sitting near the fire"),
    ("the flowers in the garden were beautiful", "the garden had pretty flowers"),
    ("the door was locked", "someone had locked the door"),
    ("she cried because she lost her toy", "she was sad and cried after losing her toy"),
]


def normalise_texts(texts):
    return [t.lower() for t in texts]


def build_vocab(texts, extra_words, min_count):
    c = collections.Counter()
    for t in normalise_texts(texts):
        c.update(PRETOK.findall(t))
    words = sorted([w for w, n in c.items() if n >= min_count], key=lambda w: (-c[w], w))
    seen = set(words)
    for w in sorted(extra_words):
        if w not in seen:
            words.append(w); seen.add(w)
    return ["[PAD]", "[UNK]"] + words


def tokenizer_json(vocab):
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [
            {"id": 0, "content": "[PAD]", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True},
            {"id": 1, "content": "[UNK]", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": {w: i for i, w in enumerate(vocab)}},
    }


class SIFEmbed(nn.Module):
    """input_ids [B,T], attention_mask [B,T] -> embeddings [B,D] (not normalised)."""
    def __init__(self, vectors, weights, pc):
        super().__init__()
        self.register_buffer("vectors", torch.as_tensor(vectors, dtype=torch.float32))
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float32))
        self.register_buffer("pc", torch.as_tensor(pc, dtype=torch.float32))

    def forward(self, input_ids, attention_mask):
        m = attention_mask.float()
        w = self.weights[input_ids] * m                                  # [B,T]
        v = torch.matmul(w.unsqueeze(1), self.vectors[input_ids]).squeeze(1)  # [B,D]
        v = v / torch.clamp(m.sum(1, keepdim=True), min=1.0)
        return v - torch.matmul(v, self.pc.unsqueeze(1)) * self.pc.unsqueeze(0)


def encode_batch(ids_list, max_len=128):
    T = max(1, max(len(x) for x in ids_list))
    T = min(T, max_len)
    ids = torch.zeros(len(ids_list), T, dtype=torch.long)
    am = torch.zeros(len(ids_list), T, dtype=torch.long)
    for i, x in enumerate(ids_list):
        x = x[:T]
        ids[i, :len(x)] = torch.tensor(x, dtype=torch.long); am[i, :len(x)] = 1
    return ids, am


def embed_texts(model, texts):
    ids = node_encode(os.path.join(OUT, "tokenizer.json"), None, texts)
    a, m = encode_batch(ids)
    with torch.no_grad():
        e = model(a, m)
    return torch.nn.functional.normalize(e, dim=-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=float, default=5)
    ap.add_argument("--min-count", type=int, default=3)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--neg", type=int, default=5)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    seed_all(4321, args.threads)
    t0 = time.time()
    docs = load_docs()
    texts = [d for k in sorted(docs) for d in docs[k][0] + docs[k][1]]
    _, names, _ = emoji_data.load()
    name_words = set(w for n in names for w in PRETOK.findall(n.lower()))
    vocab = build_vocab(texts, name_words, args.min_count)
    write_json(os.path.join(OUT, "tokenizer.json"), tokenizer_json(vocab))
    # corpus ids via the runtime's tokenizer; the emoji names are added as short sentences
    # (three times each) so that name-only words get vectors
    seqs = node_encode(os.path.join(OUT, "tokenizer.json"), None, texts + names * 3)
    V = len(vocab)
    counts = np.zeros(V, dtype=np.int64)
    for s in seqs:
        np.add.at(counts, np.asarray(s, dtype=np.int64), 1)
    total = counts[2:].sum()
    freq = counts / max(1, total)
    # skip-gram pairs (dynamic window, frequent-word subsampling), rebuilt each epoch
    rng = np.random.default_rng(4321)
    keep_p = np.minimum(1.0, np.sqrt(1e-4 / np.maximum(freq, 1e-12)) + 1e-4 / np.maximum(freq, 1e-12))
    keep_p[:2] = 0.0
    neg_table = np.power(np.maximum(counts, 0), 0.75); neg_table[:2] = 0; neg_table /= neg_table.sum()
    emb_in = nn.Embedding(V, DIMS, sparse=True)
    emb_out = nn.Embedding(V, DIMS, sparse=True)
    nn.init.uniform_(emb_in.weight, -0.5 / DIMS, 0.5 / DIMS)
    nn.init.zeros_(emb_out.weight)
    opt = torch.optim.SparseAdam(list(emb_in.parameters()) + list(emb_out.parameters()), lr=0.01)
    n_ep = int(math.ceil(args.epochs))
    for ep in range(n_ep):
        cs, xs = [], []
        for s in seqs:
            s = np.asarray(s, dtype=np.int64)
            s = s[rng.random(len(s)) < keep_p[s]]
            n = len(s)
            if n < 2:
                continue
            for off in range(1, min(args.window, n - 1) + 1):
                # dynamic window: pair at distance off kept with prob (window-off+1)/window
                m = rng.random(n - off) < (args.window - off + 1) / args.window
                a, b = s[:-off][m], s[off:][m]
                cs += [a, b]; xs += [b, a]
        c = np.concatenate(cs); x = np.concatenate(xs)
        perm = rng.permutation(len(c))
        if ep == n_ep - 1 and args.epochs < n_ep:
            perm = perm[:int(len(perm) * (args.epochs - (n_ep - 1)))]
        c, x = torch.from_numpy(c[perm]), torch.from_numpy(x[perm])
        tot = 0.0
        for i in range(0, len(c), args.batch):
            cb, xb = c[i:i + args.batch], x[i:i + args.batch]
            negs = torch.from_numpy(rng.choice(V, size=(len(cb), args.neg), p=neg_table))
            vi = emb_in(cb)
            pos = (vi * emb_out(xb)).sum(-1)
            neg = torch.bmm(emb_out(negs), vi.unsqueeze(-1)).squeeze(-1)
            loss = -(torch.nn.functional.logsigmoid(pos).mean() + torch.nn.functional.logsigmoid(-neg).sum(-1).mean())
            opt.zero_grad(); loss.backward(); opt.step()
            tot += loss.item() * len(cb)
        print(f"epoch {ep} pairs {len(c)} loss {tot/len(c):.4f} {time.time()-t0:.0f}s", flush=True)
    vec = emb_in.weight.detach().numpy().copy()
    vec[:2] = 0.0
    weights = SIF_A / (SIF_A + freq)
    weights[:2] = 0.0
    # principal component of SIF sentence vectors over corpus sentences
    model = SIFEmbed(vec, weights, np.zeros(DIMS))
    sents = [s for s in seqs[:len(texts)]]
    a, m = encode_batch(sents, max_len=128)
    with torch.no_grad():
        S = model(a, m).numpy()
    _, _, vt = np.linalg.svd(S - 0 * S.mean(0), full_matrices=False)
    model = SIFEmbed(vec, weights, vt[0])
    train_s = time.time() - t0
    # ---- ONNX
    os.makedirs(os.path.join(OUT, "onnx"), exist_ok=True)
    ids, am = encode_batch([[5, 6, 7], [8, 9]])
    torch.onnx.export(model.eval(), (ids, am), os.path.join(OUT, "onnx", "model.onnx"),
                      input_names=["input_ids", "attention_mask"], output_names=["embeddings"],
                      dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                                    "attention_mask": {0: "batch_size", 1: "sequence_length"},
                                    "embeddings": {0: "batch_size"}}, opset_version=14)
    torch.save({"vectors": vec, "weights": weights, "pc": vt[0]}, os.path.join(WORK, "embed.pt"))
    # ---- sanity check: paraphrase pairs vs random pairs
    A = embed_texts(model, [p[0] for p in PARAPHRASES])
    B = embed_texts(model, [p[1] for p in PARAPHRASES])
    sim = (A @ B.t()).numpy()
    para = np.diag(sim)
    off = sim[~np.eye(len(PARAPHRASES), dtype=bool)]
    beats = float(np.mean([(para[i] > np.delete(sim[i], i)).all() for i in range(len(para))]))
    beats_mean = float(np.mean([(para[i] > np.delete(sim[i], i)).mean() for i in range(len(para))]))
    # nearest neighbours for a few words (qualitative)
    W = torch.nn.functional.normalize(torch.from_numpy(vec), dim=-1)
    nn_words = {}
    for w in ["cat", "moon", "red", "heart", "king", "happy", "dog", "tree", "sun", "night"]:
        if w in vocab:
            i = vocab.index(w)
            top = torch.topk(W @ W[i], 7).indices.tolist()
            nn_words[w] = [vocab[j] for j in top if j != i][:6]
    report = {"vocab_size": V, "dims": DIMS, "train_seconds": round(train_s, 1), "epochs": args.epochs,
              "paraphrase_mean_cos": float(para.mean()), "random_pair_mean_cos": float(off.mean()),
              "frac_paraphrase_beats_all_random_in_row": beats,
              "frac_pairwise_paraphrase_beats_random": beats_mean,
              "nearest_words": nn_words}
    print(json.dumps(report, indent=1))
    write_json(os.path.join(WORK, "embed-report.json"), report, indent=1)
    # ---- fixture
    fx_texts = ["a cat under the moon", "Once upon a time, there was a little dog.", "A red heart!", "zzzqqq unknownword"]
    ids = node_encode(os.path.join(OUT, "tokenizer.json"), None, fx_texts)
    a, m = encode_batch(ids)
    with torch.no_grad():
        raw = model(a, m)
    fx = {"modelId": "ensemble-embed", "texts": fx_texts, "input_ids": ids,
          "note": "embeddings are the raw ONNX output (before the runtime's L2 normalisation); rows were run as "
                  "one right-padded batch (padding id 0, mask 0). normalized = L2-normalised. Tolerance abs 1e-4.",
          "embeddings": [[round(float(v), 6) for v in r] for r in raw],
          "normalized": [[round(float(v), 6) for v in r] for r in torch.nn.functional.normalize(raw, dim=-1)]}
    write_json(os.path.join(MODELS, "fixtures", "ensemble-embed.json"), fx)


if __name__ == "__main__":
    main()
