"""Writes the inputs of models/evaluate.mts to models/.cache/eval/ (git-ignored):
- heldout.json: {"small": {corpus: [docs]}, "books": [docs]} — today's 5% held-out tails of
  TinyStories, Sherlock and Shakespeare (load_docs, unchanged) and the 8 held-out books (clean_book);
- train_words.txt: every lower-cased letters-only word of the training text of all corpora;
- emoji{32,64}.u8 + emoji_names.json: the training glyphs (N x S x S x 3, uint8), for retrieval.
"""
import json, os, re, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CACHE
from books import load_all_docs
import emoji_data

OUT = os.path.join(CACHE, "eval")


def main():
    os.makedirs(OUT, exist_ok=True)
    docs = load_all_docs()
    held = {"small": {k: docs[k][1] for k in ("tinystories", "sherlock", "shakespeare")}, "books": docs["books"][1]}
    with open(os.path.join(OUT, "heldout.json"), "w", encoding="utf-8") as f:
        json.dump(held, f, ensure_ascii=False)
    words = set()
    for k, (train, _) in docs.items():
        for d in train:
            words.update(re.findall(r"[a-z]+", d.lower()))
    with open(os.path.join(OUT, "train_words.txt"), "w") as f:
        f.write("\n".join(sorted(words)) + "\n")
    for size in (32, 64):
        imgs, names, _ = emoji_data.load(size)
        imgs.tofile(os.path.join(OUT, f"emoji{size}.u8"))
    with open(os.path.join(OUT, "emoji_names.json"), "w") as f:
        json.dump(names, f)
    print(f"held-out docs: {', '.join(f'{k} {len(v)}' for k, v in held['small'].items())}, books {len(held['books'])}; "
          f"{len(words)} training words; {len(names)} emoji")


if __name__ == "__main__":
    main()
