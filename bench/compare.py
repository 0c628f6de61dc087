#!/usr/bin/env python3
"""bench/compare.py — one table from `ssmlab bench --json` and `bench/torch_peer.py --json` of the same
machine: every row of either, ssmlab's and PyTorch's times, and the ratio (PyTorch time / ssmlab
time: above 1, ssmlab is faster), as markdown. Standard library only.

Usage: python3 bench/compare.py SSMLAB.json TORCH.json > table.md
"""
import json
import sys


def rows_of(report):
    out = {}
    for section in ("kernels", "train", "eval", "scaling"):
        for r in report.get(section, []):
            out[r["name"]] = r
    return out


def fmt_ms(ms):
    return "-" if ms is None else (f"{ms:.3f}" if ms < 10 else f"{ms:.1f}")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.strip().splitlines()[-1])
    with open(sys.argv[1]) as f:
        ours_report = json.load(f)
    with open(sys.argv[2]) as f:
        peer_report = json.load(f)
    ours, peer = rows_of(ours_report), rows_of(peer_report)
    print(f"ssmlab: {ours_report.get('device', '?')}  \nPyTorch {peer_report.get('torch', '?')}: "
          f"{peer_report.get('device', '?')}\n")
    print("| row | shape | ssmlab ms | PyTorch ms | ratio | ssmlab peak RSS GiB | PyTorch peak RSS GiB |")
    print("|---|---|---|---|---|---|---|")
    names = list(ours) + [n for n in peer if n not in ours]
    for name in names:
        o, p = ours.get(name), peer.get(name)
        o_ms = o["ms"] if o else None
        p_ms = p["ms"] if p else None
        ratio = f"{p_ms / o_ms:.2f}x" if o_ms and p_ms else "-"
        o_mem = o.get("peak_gib") if o else None
        p_mem = p.get("peak_rss_gib") if p else None
        shape = (o or p)["shape"]
        mem = lambda v: "-" if v is None or v != v else f"{v:.2f}"  # noqa: E731 (NaN: not measured)
        print(f"| {name} | {shape} | {fmt_ms(o_ms)} | {fmt_ms(p_ms)} | {ratio} | {mem(o_mem)} | {mem(p_mem)} |")


if __name__ == "__main__":
    main()
