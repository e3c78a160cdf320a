"""Checks the recipe's text clean-up: `python3 check_text_cleanup.py` (exits non-zero on a failure).

fix_mojibake on hand-made cases (each double-decoded sequence, the closing quote whose 0x9D byte was
lost, text that must stay as it is), then load_docs(): no document of any corpus may keep a
double-decoded sequence, and the TinyStories sample must still hold its quotes and dashes.
"""
import re
import sys

from common import ascii_quotes, fix_mojibake, load_docs

CASES = [
    ("\u00e2\u20ac\u0153hi\u00e2\u20ac\u009d", "\u201chi\u201d"),       # both bytes of the closing quote kept
    ("a friendly \u00e2\u20ac\u0153hi\u00e2\u20ac and", "a friendly \u201chi\u201d and"),  # 0x9D lost
    ("it\u00e2\u20ac\u2122s", "it\u2019s"),
    ("a noise\u00e2\u20ac\u201dit was", "a noise\u2014it was"),
    ("strange \u00e2\u20ac\u201c there", "strange \u2013 there"),
    ("wait\u00e2\u20ac\u00a6", "wait\u2026"),
    ("caf\u00c3\u00a9 for \u00c2\u00a33", "caf\u00e9 for \u00a33"),       # any other character that round-trips
    ("caf\u00e9, na\u00efve \u2014 \u201cok\u201d", "caf\u00e9, na\u00efve \u2014 \u201cok\u201d"),  # clean text unchanged
]
MOJIBAKE = re.compile("\u00e2\u20ac|\u00c3[\u0080-\u00bf]|\u00c2[\u0080-\u00bf]")

failed = 0
for bad, good in CASES:
    got = fix_mojibake(bad)
    if got != good:
        failed += 1
        print(f"FAIL fix_mojibake({bad!r}) = {got!r}, expected {good!r}")
if ascii_quotes("\u201cit\u2019s\u201d") != "\"it's\"":
    failed += 1
    print("FAIL ascii_quotes")

docs = load_docs()
for corpus, (train, heldout) in docs.items():
    left = [m.group(0) for d in train + heldout for m in MOJIBAKE.finditer(d)]
    if left:
        failed += 1
        print(f"FAIL {corpus}: {len(left)} double-decoded sequences left, e.g. {left[:5]}")
stories = "\n".join(docs["tinystories"][0] + docs["tinystories"][1])
quotes, dashes = stories.count('"'), stories.count("\u2014") + stories.count("\u2013")
print(f"tinystories: {len(stories)} chars, {quotes} double quotes, {dashes} dashes, "
      f"{sum(len(t) + len(h) for t, h in docs.values())} documents in all")
if quotes < 1000 or dashes < 9:
    failed += 1
    print("FAIL the repaired quotes or dashes went missing")
# clean_book (the gutenberg-stories books): headings, contents, markers and footnotes go, prose stays
from books import BOOKS, HELDOUT_BOOKS, SKIPPED_BOOKS, book_files, clean_book
BOOK = """THE TEST BOOK

By A. Writer


CONTENTS

     I.    The beginning of things.     1
     II.   The end.                    20


CHAPTER I

The Beginning

[Illustration: A boy and a
dog.]

It was a \u00e2\u20ac\u0153fine\u00e2\u20ac\u009d day,[1] and the _little_ dog
ran down the hill.


[Footnote 1: A note.]

[1] Another note.

CHAPTER II.

"Yes," said Tom.
"""
got = clean_book(BOOK)
want = ['It was a "fine" day, and the little dog ran down the hill.', '"Yes," said Tom.']
if got != want:
    failed += 1
    print(f"FAIL clean_book: {got!r}, expected {want!r}")
train_books, held_books = book_files()
if set(train_books) & (set(HELDOUT_BOOKS) | set(SKIPPED_BOOKS)) or len(held_books) != 8:
    failed += 1
    print("FAIL a held-out or skipped book is in the training list")
print("FAILED" if failed else "ok")
sys.exit(1 if failed else 0)
