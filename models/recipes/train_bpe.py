"""Learns a byte-level BPE tokenizer (GPT-2 style) for the story LM and writes HF tokenizer.json.

Pre-tokenization is done by @huggingface/tokenizers' own ByteLevel pre-tokenizer (via tok.mjs), so
the merges are learned on exactly the pieces the runtime will see. Merge learning is a plain
greedy pair-count BPE with incremental pair-count updates. Ids: 0 <pad>, 1 <s>, 2 </s>, 3..258 the
256 byte symbols (in byte order), then one id per merge.
"""
import argparse, collections, heapq, json, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import MODELS, node_pretok_counts, write_json
from books import load_all_docs

SPECIALS = ["<pad>", "<s>", "</s>"]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, map(chr, cs)))


def learn(counts, vocab_size):
    """Greedy BPE: repeatedly merges the most frequent adjacent pair (ties: lexicographically
    smallest), with incremental pair counts and a lazy max-heap (stale entries are skipped)."""
    words = [(list(w), c) for w, c in sorted(counts.items())]
    pair_counts = collections.Counter()
    where = collections.defaultdict(set)
    for i, (sym, c) in enumerate(words):
        for a, b in zip(sym, sym[1:]):
            pair_counts[(a, b)] += c
            where[(a, b)].add(i)
    heap = [(-c, p) for p, c in pair_counts.items()]
    heapq.heapify(heap)
    merges = []
    n_merges = vocab_size - len(SPECIALS) - 256
    while len(merges) < n_merges and heap:
        negc, best = heapq.heappop(heap)
        if pair_counts.get(best, 0) != -negc:
            continue                                 # stale entry
        if -negc < 2:
            break
        merges.append(best)
        a, b = best
        new = a + b
        touched = set()
        for i in sorted(where[best]):
            sym, c = words[i]
            for p in zip(sym, sym[1:]):
                pair_counts[p] -= c
                touched.add(p)
            out, j = [], 0
            while j < len(sym):
                if j < len(sym) - 1 and sym[j] == a and sym[j + 1] == b:
                    out.append(new); j += 2
                else:
                    out.append(sym[j]); j += 1
            words[i] = (out, c)
            for p in zip(out, out[1:]):
                pair_counts[p] += c
                where[p].add(i)
                touched.add(p)
        where.pop(best, None)
        pair_counts.pop(best, None)
        for p in touched:
            c = pair_counts.get(p, 0)
            if c <= 0:
                pair_counts.pop(p, None)
            elif p != best:
                heapq.heappush(heap, (-c, p))
    return merges


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--out", default=os.path.join(MODELS, "story-lm"))
    args = ap.parse_args()
    t0 = time.time()
    docs = load_all_docs()
    texts = [d for k in sorted(docs) for d in docs[k][0]]   # training split only
    counts = node_pretok_counts(texts)
    merges = learn(counts, args.vocab)
    b2u = bytes_to_unicode()
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    for byte in range(256):
        vocab[b2u[byte]] = len(vocab)
    for a, b in merges:
        vocab[a + b] = len(vocab)
    assert len(vocab) == len(SPECIALS) + 256 + len(merges)
    added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, s in enumerate(SPECIALS)]
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}},
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab, "merges": [[a, b] for a, b in merges]},
    }
    write_json(os.path.join(args.out, "tokenizer.json"), tok)
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
           "pad_token": "<pad>", "unk_token": None, "add_bos_token": True, "add_eos_token": False,
           "model_max_length": 256, "padding_side": "left", "clean_up_tokenization_spaces": False}
    write_json(os.path.join(args.out, "tokenizer_config.json"), cfg, indent=2)
    print(f"BPE: {len(counts)} distinct pieces, {len(merges)} merges, vocab {len(vocab)}, {time.time()-t0:.1f}s")


if __name__ == "__main__":
    main()
