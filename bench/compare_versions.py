#!/usr/bin/env python3
"""bench/compare_versions.py — each faster kernel version against version 1, from one `ssmlab bench --json` run.

A version-2 row is named like its version-1 row with " v2 (...)" where the qualifier goes (docs/kernels.md):
"ssd chunked forward v2 (tensor cores, tf32)" pairs with "ssd chunked forward", and
"gla backward v2 (rwkv bonus, tensor cores, tf32)" with "gla backward (rwkv bonus)". Prints a Markdown
table of both times and the speed-up, the evidence for making a version the default
(ops/kernel_versions.cpp). Standard library only: it runs wherever the GPU check runs.

    python3 bench/compare_versions.py bench.json
"""
import json
import sys


def version_one_of(name, names):
    """The version-1 row that `name` (a " v2" row) pairs with, or None."""
    prefix = name.split(" v2")[0]
    for other in names:
        if " v2" not in other and (other == prefix or other.startswith(prefix + " (")):
            return other
    return None


def main(argv):
    if len(argv) != 2:
        print("usage: compare_versions.py BENCH_JSON", file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as f:
            rows = json.load(f)["kernels"]
    except (OSError, ValueError, KeyError) as e:
        print(f"compare_versions.py: {argv[1]}: not an ssmlab bench JSON with kernel rows ({e})", file=sys.stderr)
        return 2
    ms = {row["name"]: row["ms"] for row in rows}
    print("| kernel | version 1 (ms) | version 2 (ms) | version 2 speed-up |")
    print("|---|---|---|---|")
    paired = 0
    for name in ms:
        if " v2" not in name:
            continue
        one = version_one_of(name, ms)
        if one is None:
            print(f"| {name} | (no version-1 row) | {ms[name]:.3f} | - |")
            continue
        paired += 1
        print(f"| {one} | {ms[one]:.3f} | {ms[name]:.3f} | {ms[one] / ms[name]:.2f}x |")
    if paired == 0:
        print("compare_versions.py: no version-2 rows paired with a version-1 row", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
