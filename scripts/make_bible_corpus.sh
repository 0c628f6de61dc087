#!/usr/bin/env bash
# scripts/make_bible_corpus.sh OUT_DIR — writes the King James Bible (Debian's bible-kjv) as 66
# plain-text documents, one per book (01_Ge.txt ... 66_Rev.txt), verse references removed.
# The books are long documents (Psalms is ~240K characters), which is what long-context
# training and the loss-by-position measurements need.
set -euo pipefail
out=${1:-data/kjv}
if [ -f "$out/66_Rev.txt" ]; then exit 0; fi
command -v bible >/dev/null || { echo "error: 'bible' not found: install the Debian package bible-kjv" >&2; exit 2; }
mkdir -p "$out"
bible -f "Gen1:1-Rev22:21" | awk -v out="$out" '
  {
    ref = $1
    match(ref, /^[0-9]?[A-Za-z]+/)
    book = substr(ref, RSTART, RLENGTH)
    if (book != current) { current = book; n++; file = sprintf("%s/%02d_%s.txt", out, n, book) }
    sub(/^[^ ]+ /, "")
    print > file
  }'
echo "wrote $(ls "$out" | wc -l) books to $out"
