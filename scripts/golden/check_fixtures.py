#!/usr/bin/env python3
# scripts/golden/check_fixtures.py — reloads every golden fixture directory and checks its format:
# files, metadata (magic, version, arch, reference), tensor names, dtypes and shapes, a gradient
# for every model tensor, documented state kinds, and loss == cross-entropy(logits).
#
# Not for: recomputing the references (make_golden.py does that and cross-checks them).
# Usage: python scripts/golden/check_fixtures.py [--root tests/data/golden]

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

MAGIC, FORMAT_VERSION, BATCH, SEQ_LEN, SGD_STEPS = "ssmlab-golden", "1", 2, 37, 4
ARCHS = ("mamba1", "mamba2", "rwkv5", "rwkv6", "hgrn2")
REQUIRED_META = ("magic", "format_version", "generator", "arch", "reference", "sgd_lr", "dtype")
# A few names per family that a loader of the public checkpoints expects to find.
EXPECTED_NAMES = {
    "mamba1": ["backbone.embeddings.weight", "backbone.norm_f.weight", "backbone.layers.1.mixer.A_log",
               "backbone.layers.0.mixer.x_proj.weight", "backbone.layers.0.mixer.dt_proj.bias"],
    "mamba2": ["backbone.embeddings.weight", "backbone.norm_f.weight", "backbone.layers.1.mixer.dt_bias",
               "backbone.layers.0.mixer.norm.weight", "backbone.layers.0.mixer.conv1d.bias"],
    "rwkv5": ["emb.weight", "blocks.0.ln0.weight", "blocks.1.att.time_mix_g", "blocks.0.att.time_faaaa",
              "blocks.1.ffn.value.weight", "ln_out.bias", "head.weight"],
    "rwkv6": ["emb.weight", "blocks.0.ln0.bias", "blocks.1.att.time_maa_w2", "blocks.0.att.time_decay_w1",
              "blocks.0.att.time_maa_x", "blocks.1.ffn.time_maa_r", "head.weight"],
    "hgrn2": ["model.embeddings.weight", "model.lower_bounds", "model.layers.1.attn.f_proj.weight",
              "model.layers.0.attn.g_norm.weight", "model.layers.0.mlp.down_proj.weight",
              "model.norm.weight", "lm_head.weight"],
}


def check_dir(root: str, arch: str) -> list[str]:
    d = os.path.join(root, arch)
    errors: list[str] = []

    def need(cond, msg):
        if not cond:
            errors.append(f"{arch}: {msg}")
        return cond

    for f in ("model.safetensors", "config.json", "golden.safetensors"):
        if not need(os.path.isfile(os.path.join(d, f)), f"missing {f}"):
            return errors
    with open(os.path.join(d, "config.json")) as f:
        config = json.load(f)
    vocab = int(config["vocab_size"])
    model = load_file(os.path.join(d, "model.safetensors"))
    golden = load_file(os.path.join(d, "golden.safetensors"))
    with safe_open(os.path.join(d, "golden.safetensors"), "pt") as f:
        meta = f.metadata() or {}

    for key in REQUIRED_META:
        need(key in meta, f"metadata lacks {key}")
    need(meta.get("magic") == MAGIC, f"magic {meta.get('magic')!r}")
    need(meta.get("format_version") == FORMAT_VERSION, f"format_version {meta.get('format_version')!r}")
    need(meta.get("arch") == arch, f"arch {meta.get('arch')!r}")
    need(meta.get("dtype") == "float64", f"dtype {meta.get('dtype')!r}")
    need(arch != "rwkv5" and arch != "rwkv6" or config.get("architecture") == arch, "config architecture")

    for name in EXPECTED_NAMES[arch]:
        need(name in model, f"model.safetensors lacks {name}")
    for name, t in model.items():
        need(t.dtype == torch.float32, f"{name} is {t.dtype}")
        g = golden.get(f"grad.{name}")
        if need(g is not None, f"no grad.{name}"):
            need(g.dtype == torch.float64 and g.shape == t.shape, f"grad.{name} {g.dtype} {tuple(g.shape)}")
            need(bool(torch.isfinite(g).all()) and g.abs().max().item() > 0, f"grad.{name} zero or not finite")
    extra = {k[5:] for k in golden if k.startswith("grad.")} - set(model)
    need(not extra, f"gradients for tensors not in the model: {sorted(extra)}")

    ids, logits, loss, sgd = (golden.get(k) for k in ("input_ids", "logits", "loss", "sgd_losses"))
    if not need(all(t is not None for t in (ids, logits, loss, sgd)), "input_ids/logits/loss/sgd_losses"):
        return errors
    need(ids.dtype == torch.int64 and ids.shape == (BATCH, SEQ_LEN), f"input_ids {ids.dtype} {tuple(ids.shape)}")
    need(int(ids.min()) >= 0 and int(ids.max()) < vocab, "input_ids out of [0, vocab)")
    need(logits.dtype == torch.float64 and logits.shape == (BATCH, SEQ_LEN, vocab),
         f"logits {logits.dtype} {tuple(logits.shape)}")
    need(meta.get("logits_width") == str(logits.shape[-1]), "logits_width metadata")
    need(loss.dtype == torch.float64 and loss.shape == (), f"loss {loss.dtype} {tuple(loss.shape)}")
    ce = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1)).item()
    need(abs(ce - loss.item()) <= 1e-12 * max(1.0, abs(ce)), f"loss {loss.item()!r} != CE(logits) {ce!r}")
    need(sgd.dtype == torch.float64 and sgd.shape == (SGD_STEPS,), f"sgd_losses {sgd.dtype} {tuple(sgd.shape)}")
    need(sgd[0].item() == loss.item(), "sgd_losses[0] != loss")
    need(bool((sgd[1:] < sgd[:-1]).all()), f"SGD losses do not decrease: {sgd.tolist()}")
    need(math.isfinite(float(meta.get("sgd_lr", "nan"))), "sgd_lr is not a number")

    states = [k for k in golden if k.startswith("final_state.")]
    need(states, "no final_state.* tensors")
    for k in states:
        _, layer, kind = k.split(".")
        t = golden[k]
        need(layer.isdigit() and f"state.{kind}" in meta, f"{k}: layer or undocumented kind")
        need(t.dtype == torch.float64 and t.shape[0] == BATCH, f"{k} {t.dtype} {tuple(t.shape)}")
    known = {"input_ids", "logits", "loss", "sgd_losses"}
    stray = [k for k in golden if k not in known and not k.startswith(("grad.", "final_state."))]
    need(not stray, f"unexpected tensors {stray}")
    return errors


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default="tests/data/golden")
    args = ap.parse_args()
    failures = []
    for arch in ARCHS:
        errs = check_dir(args.root, arch)
        size = sum(os.path.getsize(os.path.join(args.root, arch, f))
                   for f in os.listdir(os.path.join(args.root, arch))) if os.path.isdir(os.path.join(args.root, arch)) else 0
        print(f"{arch:7s} {'ok' if not errs else 'FAILED'}  {size / 1024:.0f} KiB")
        failures += errs
    for e in failures:
        print("  " + e)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
