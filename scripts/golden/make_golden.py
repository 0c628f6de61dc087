#!/usr/bin/env python3
# scripts/golden/make_golden.py — writes the golden fixtures under tests/data/golden/<arch>/: a tiny
# model in its family's public checkpoint format plus the logits, loss, gradients, SGD losses and
# final recurrent states that the family's public reference implementation computes for it in
# float64. Deterministic: every run with the same package versions writes the same numbers.
#
# Usage: python scripts/golden/make_golden.py --out tests/data/golden [--arch mamba1 rwkv6 ...]
# Format and regeneration notes: scripts/golden/README.md.

from __future__ import annotations

import argparse
import os
import sys

# rwkv's model.py reads these at import time: no TorchScript, no CUDA extension.
os.environ.setdefault("RWKV_JIT_ON", "0")
os.environ.setdefault("RWKV_CUDA_ON", "0")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from golden_common import write_fixture  # noqa: E402

ARCH_SEEDS = {"mamba1": 1001, "mamba2": 2002, "rwkv5": 5005, "rwkv6": 6006, "hgrn2": 7007}


def builder(arch: str):
    if arch == "mamba1":
        from golden_mamba import build_mamba1
        return build_mamba1
    if arch == "mamba2":
        from golden_mamba import build_mamba2
        return build_mamba2
    if arch in ("rwkv5", "rwkv6"):
        from golden_rwkv import build_rwkv
        return lambda seed: build_rwkv(arch, seed)
    if arch == "hgrn2":
        from golden_hgrn2 import build_hgrn2
        return build_hgrn2
    raise ValueError(arch)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="tests/data/golden", help="root folder of the fixture directories")
    ap.add_argument("--arch", nargs="*", default=list(ARCH_SEEDS), choices=list(ARCH_SEEDS))
    args = ap.parse_args()
    torch.set_num_threads(1)                   # bit-reproducible reductions
    torch.use_deterministic_algorithms(True)
    for arch in args.arch:
        seed = ARCH_SEEDS[arch]
        fixture = builder(arch)(seed)
        summary = write_fixture(fixture, args.out, seed)
        print(f"== {arch}: {os.path.join(args.out, arch)}")
        for k, v in summary.items():
            print(f"   {k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
