"""The gutenberg-stories corpus (200 public-domain story books) as clean prose documents.

clean_book() strips what is not story text: front matter (title, author, dedication lines), tables
of contents and lists of illustrations, chapter/part/act headings, "[Illustration: ...]" markers,
footnote markers and footnote bodies, transcribers' notes and _italic_ underscores; it repairs
double-decoded UTF-8 (mojibake), maps curly quotes to ASCII (as the other corpora) and unwraps the
hard-wrapped lines of each paragraph. The corpus README's 8 suggested held-out books are never
trained on; #1661 is skipped because it is the same book as the Sherlock corpus, whose last 5% is
the old held-out split.
"""
import os
import re

from common import CORPORA, ascii_quotes, fix_mojibake

BOOKS = os.path.join(CORPORA, "gutenberg-stories")
HELDOUT_BOOKS = [
    "4357-american-fairy-tales.txt", "374-fantastic-fables.txt", "46951-the-adventures-of-bobby-coon.txt",
    "1874-the-railway-children.txt", "120-treasure-island.txt", "1872-the-red-house-mystery.txt",
    "269-beasts-and-super-beasts.txt", "844-the-importance-of-being-earnest.txt",
]
SKIPPED_BOOKS = ["1661-the-adventures-of-sherlock-holmes.txt"]   # = ../adventures-of-sherlock-holmes.txt

_ILLUSTRATION = re.compile(r"\[(?:Illustration|Picture|Frontispiece)[^\]]*\]", re.I | re.S)
_FOOTNOTE_BODY = re.compile(r"\[(?:Footnote|Note)\b[^\]]*\]", re.I | re.S)
_FOOTNOTE_MARK = re.compile(r"\[(?:\d{1,3}|[A-Z]|[ivx]{1,4})\]|\{\d{1,3}\}|(?<=\w)\*(?=[\s,.;:])")
_HEADING = re.compile(r"^(?:chapter|book|part|act|scene|canto|story|section|volume|stave|fable|tale)\b"
                      r"[\s.:]*(?:[ivxlcdm]+|\d+|the\s+\w+|one|two|three|four|five|six|seven|eight|nine|ten|"
                      r"eleven|twelve|[a-z]+teen|twenty[\w-]*|thirty[\w-]*|first|second|third|\w+th|last)?\b", re.I)
_ROMAN_OR_NUMBER = re.compile(r"^[\[(]?(?:[IVXLCDM]+|\d+)[.)\]]?$")
_LIST_HEADERS = re.compile(r"^(?:contents|table of contents|list of illustrations|illustrations|"
                           r"list of plates|list of colou?red plates|index)\.?$", re.I)
_PAGE_REF = re.compile(r"(?:\s|\.)\d{1,4}$")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]{1,200}?)_(?![\w_])")
_SENTENCE_END = re.compile(r"[.!?;:,\"')\]-]$")


def _is_heading(p):
    """A title, author, chapter or section heading: short, and either a chapter-like word, a bare
    number, or no sentence end and no lowercase word run."""
    if len(p) > 80:
        return False
    if _ROMAN_OR_NUMBER.match(p) or _LIST_HEADERS.match(p):
        return True
    if _HEADING.match(p) and (len(p) < 60 or p.isupper()):
        return True
    letters = [c for c in p if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) / len(letters) > 0.7 and len(p) < 70:
        return True                                   # "THE OLD SEA-DOG", "TREASURE ISLAND"
    return not _SENTENCE_END.search(p) and len(p.split()) <= 8   # "By E. Nesbit", "Lewis Carroll"


def _is_list_block(lines):
    """A table of contents / list of illustrations block: several short lines, most of them page
    references, numbered entries or headings."""
    if len(lines) < 2:
        return False
    hits = sum(bool(_PAGE_REF.search(l) or _ROMAN_OR_NUMBER.match(l.split()[0]) or _HEADING.match(l)
                    or ". . ." in l) for l in lines if l)
    short = sum(len(l) < 70 for l in lines)
    return hits >= 0.5 * len(lines) and short >= 0.8 * len(lines)


def clean_book(text):
    """Returns the book's story paragraphs (one string each, hard wraps unwrapped)."""
    text = fix_mojibake(text.replace("\r\n", "\n").replace("\ufeff", ""))
    text = _ILLUSTRATION.sub("", text)
    text = _FOOTNOTE_BODY.sub("", text)
    paras, in_list = [], False
    for block in re.split(r"\n\s*\n", text):
        lines = [l.strip() for l in block.split("\n") if l.strip()]
        if not lines:
            continue
        first = lines[0]
        if _LIST_HEADERS.match(first) or _LIST_HEADERS.match(first.rstrip(":")):
            in_list = True                           # until the next ordinary prose paragraph
            continue
        if re.match(r"^\[?(?:transcriber|produced by|note:)", first, re.I):
            continue
        if re.match(r"^(?:\[\d{1,3}\]|\d{1,3}\.?\s*\[?footnote|footnote)", first, re.I):
            continue                                 # footnote body at the end of a chapter
        if _is_list_block(lines):
            continue
        raw = [l for l in block.split("\n") if l.strip()]
        verse = len(raw) >= 2 and all(l.startswith("  ") and len(l.strip()) < 70 for l in raw)
        p = "\n".join(" ".join(l.split()) for l in lines) if verse else " ".join(" ".join(lines).split())
        p = _FOOTNOTE_MARK.sub("", p)
        p = _ITALIC.sub(r"\1", p)
        p = ascii_quotes(p).replace("\u2014", "--").strip()
        if not p:
            continue
        if _is_heading(p):
            continue
        if in_list and len(p) < 120 and not p.endswith((".", "!", "?", '"', "'")):
            continue
        in_list = False
        paras.append(p)
    return paras


def _group(paras, max_chars):
    docs, cur, n = [], [], 0
    for p in paras:
        cur.append(p); n += len(p)
        if n >= max_chars:
            docs.append("\n\n".join(cur)); cur, n = [], 0
    if cur:
        docs.append("\n\n".join(cur))
    return docs


def book_files():
    names = sorted(f for f in os.listdir(BOOKS) if f.endswith(".txt") and f[0].isdigit())
    train = [f for f in names if f not in HELDOUT_BOOKS and f not in SKIPPED_BOOKS]
    missing = [f for f in HELDOUT_BOOKS if f not in names]
    if missing:
        raise SystemExit(f"held-out books missing from {BOOKS}: {missing}")
    return train, list(HELDOUT_BOOKS)


def load_book_docs(max_chars=1200):
    """(train_docs, heldout_docs): every book cleaned and grouped into ~max_chars documents; the
    held-out documents come only from HELDOUT_BOOKS."""
    def docs_of(files):
        out = []
        for f in files:
            with open(os.path.join(BOOKS, f), encoding="utf-8") as fh:
                out += _group(clean_book(fh.read()), max_chars)
        return out
    train, held = book_files()
    return docs_of(train), docs_of(held)


def load_all_docs():
    """load_docs() (TinyStories, Sherlock, Shakespeare with their 5% held-out tails) plus "books"."""
    from common import load_docs
    docs = load_docs()
    docs["books"] = load_book_docs()
    return docs


if __name__ == "__main__":   # prints a cleaned excerpt: python3 books.py 11-alices-adventures-in-wonderland.txt
    import sys
    with open(os.path.join(BOOKS, sys.argv[1]), encoding="utf-8") as fh:
        ps = clean_book(fh.read())
    print("\n\n".join(ps[: int(sys.argv[2]) if len(sys.argv) > 2 else 12]))
