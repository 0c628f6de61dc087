#!/usr/bin/env bash
# run_gpu_tests.sh — runs the CUDA test programs that sit beside it (the tarball's tests/, from
# `make dist`) or in BUILD_DIR/tests, each once, and says which passed. Every test compares CUDA
# with the CPU reference (ops forward and backward, the three scans, training losses); on a
# machine without a GPU they report themselves skipped. Exit status: 0 when all passed.
#
#   run_gpu_tests.sh [LOG_DIR]          logs: LOG_DIR/<test>.log (default: a temporary folder)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ls "$here"/test_cuda* >/dev/null 2>&1; then
  dir=$here
else
  dir=$(cd "$here/.." && pwd)/${BUILD_DIR:-build}/tests
fi
logs=${1:-$(mktemp -d)}
mkdir -p "$logs"
failed=0
for t in "$dir"/test_cuda*; do
  name=$(basename "$t")
  case "$name" in *_emulated) continue ;; esac
  [ -x "$t" ] || continue
  start=$(date +%s)
  if "$t" >"$logs/$name.log" 2>&1; then status=passed; else status="FAILED"; failed=1; fi
  summary=$(grep -E '^\[doctest\] test cases' "$logs/$name.log" | tail -1)
  printf '%-22s %-7s %4ss  %s\n' "$name" "$status" "$(($(date +%s) - start))" "${summary#\[doctest\] }"
done
exit $failed
