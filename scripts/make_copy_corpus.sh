#!/usr/bin/env bash
# scripts/make_copy_corpus.sh OUT_DIR [DOCS] [DOC_BYTES] [MIN_PERIOD] [MAX_PERIOD] — a synthetic
# corpus where remembering pays: DOCS documents (copy_0001.txt ...), each a random string of
# lowercase letters of length p (uniform in [MIN_PERIOD, MAX_PERIOD]) repeated to DOC_BYTES bytes
# and ended by a newline. After the first p bytes every byte is predictable from the one p bytes
# back, so a model trained on it (mixed into a `text` source) learns to keep up to MAX_PERIOD
# tokens in its state. Used by the CPU-scale reproduction (docs/reproduction.md), where byte-level
# Bible text alone teaches a tiny model to forget within a few dozen bytes.
# Deterministic on every machine: its own Lehmer generator (MINSTD, exact in awk's doubles), not
# awk's rand(), whose sequence differs between awk implementations.
set -euo pipefail
out=${1:?usage: make_copy_corpus.sh OUT_DIR [DOCS] [DOC_BYTES] [MIN_PERIOD] [MAX_PERIOD]}
docs=${2:-200}
bytes=${3:-8192}
min_p=${4:-8}
max_p=${5:-64}
for v in "$docs" "$bytes" "$min_p" "$max_p"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "error: make_copy_corpus.sh: '$v' is not a positive integer" >&2; exit 2; }
done
[ "$min_p" -le "$max_p" ] || { echo "error: make_copy_corpus.sh: MIN_PERIOD $min_p > MAX_PERIOD $max_p" >&2; exit 2; }
mkdir -p "$out"
awk -v out="$out" -v docs="$docs" -v bytes="$bytes" -v min_p="$min_p" -v max_p="$max_p" '
  function next_int(n) { state = (48271 * state) % 2147483647; return state % n }
  BEGIN {
    state = 20241009
    letters = "abcdefghijklmnopqrstuvwxyz"
    for (d = 1; d <= docs; d++) {
      p = min_p + next_int(max_p - min_p + 1)
      unit = ""
      for (i = 0; i < p; i++) unit = unit substr(letters, next_int(26) + 1, 1)
      text = ""
      while (length(text) < bytes) text = text unit
      file = sprintf("%s/copy_%04d.txt", out, d)
      printf "%s\n", substr(text, 1, bytes) > file
      close(file)
    }
  }'
echo "wrote $docs documents of $bytes bytes (periods $min_p..$max_p) to $out"
