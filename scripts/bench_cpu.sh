#!/usr/bin/env bash
# scripts/bench_cpu.sh — `make bench-cpu`: ssmlab bench and its PyTorch peer on this machine's CPU, one
# after the other, and the comparison table (bench/compare.py) in bench/out/cpu.md.
#
# PyTorch comes from $PYTHON (default: .venv/bin/python if it exists, else python3) and must have
# torch and transformers; without them only ssmlab's side runs. To make that environment once:
#   python3 -m venv .venv && .venv/bin/pip install torch transformers safetensors numpy
# Extra arguments go to both sides (e.g. --preset tiny, --only train).
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
python=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
echo "== ssmlab bench --device cpu $*"
build/cli/ssmlab bench --device cpu --json "$out/ssmlab_cpu.json" "$@" | tee "$out/ssmlab_cpu.txt"
if ! "$python" -c "import torch, transformers" 2>/dev/null; then
  echo "bench_cpu.sh: $python has no torch or transformers: the PyTorch side is skipped (see this script's header)"
  exit 0
fi
echo "== bench/torch_peer.py --device cpu $*"
"$python" bench/torch_peer.py --device cpu --ssmlab "$out/ssmlab_cpu.json" --json "$out/torch_cpu.json" "$@" \
  2> >(grep -v "falling back to its reference PyTorch implementation" >&2) | tee "$out/torch_cpu.txt"
python3 bench/compare.py "$out/ssmlab_cpu.json" "$out/torch_cpu.json" > "$out/cpu.md"
echo "== comparison: $out/cpu.md"
cat "$out/cpu.md"
