#!/usr/bin/env python3
"""scripts/check_exports.py — ssmlab's exports opened by the reference libraries, per-token losses
compared with ssmlab's own (docs/export.md keeps the last results).

For every checkpoint given (default: a few training steps of configs/mamba1_s16.yaml and
configs/mamba2_s128.yaml, made here), and every target that takes its architecture:
  1. `ssmlab export --to TARGET`;
  2. `ssmlab ppl --per-token` on the export and on the checkpoint itself: the two must be equal
     (ssmlab loads its own export back with identical losses);
  3. the target library loads the export with its standard call (transformers'
     Mamba*ForCausalLM.from_pretrained / AutoTokenizer.from_pretrained, mamba_ssm's
     MambaLMHeadModel.from_pretrained), scores the same tokens, and its losses must be within
     1e-4 relative of ssmlab's; the tokenizer must give ssmlab's token ids.
A library that is not importable (mamba_ssm needs CUDA) makes its rows "model skipped"; for
state-spaces torch.load still reads pytorch_model.bin and must give model.safetensors' tensors.
Not run in CI,
which has no PyPI; needs torch, transformers and safetensors (pip install torch transformers
safetensors). Exit status 0 when every row that ran passed.

  python scripts/check_exports.py [--ssmlab build/cli/ssmlab] [--work /tmp/ssmlab-exports]
                                  [--model CKPT ...] [--text FILE] [--length 512]
"""
import argparse
import csv
import importlib
import os
import shutil
import subprocess
import sys

TARGETS = {"mamba1": ["hf", "state-spaces"], "mamba2": ["hf", "state-spaces"]}
TOLERANCE = 1e-4  # relative, per token: ssmlab and PyTorch sum in different orders


def run(cmd, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def arch_of(ckpt):
    for line in open(os.path.join(ckpt, "config.yaml")):
        if line.strip().startswith("arch:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"{ckpt}/config.yaml names no model.arch")


def per_token(ssmlab, model, text, length, out_csv):
    """ssmlab's per-token losses on `text`: (tokens fed, losses) from ppl --per-token."""
    run([ssmlab, "ppl", "--model", model, "--data", text, "--length", str(length), "--docs", "1",
         "--per-token", out_csv, "--out", out_csv + ".report", "--train-length", "256", "--quiet"])
    rows = list(csv.DictReader(open(out_csv)))
    tokens = [int(rows[0]["token"])] + [int(r["target"]) for r in rows]
    return tokens, [float(r["loss"]) for r in rows]


def reference_losses(target, arch, export_dir, tokens):
    import torch
    if target == "hf":
        import transformers
        cls = transformers.Mamba2ForCausalLM if arch == "mamba2" else transformers.MambaForCausalLM
        model = cls.from_pretrained(export_dir).eval()
        library = f"transformers {transformers.__version__}"
    else:
        from mamba_ssm.models.mixer_seq_simple import MambaLMHeadModel
        import mamba_ssm
        model = MambaLMHeadModel.from_pretrained(export_dir, device="cuda").eval()
        library = f"mamba_ssm {mamba_ssm.__version__}"
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = model(torch.tensor([tokens], device=device)).logits[0].double().cpu()
    logp = torch.log_softmax(logits, -1)
    targets = torch.tensor(tokens[1:])
    return (-logp[torch.arange(len(targets)), targets]).tolist(), library


def tokenizer_agrees(target, export_dir, text_file, tokens):
    if target != "hf":
        return "n/a"
    import transformers
    tok = transformers.AutoTokenizer.from_pretrained(export_dir)
    ids = tok(open(text_file, encoding="utf-8").read())["input_ids"]
    return "same ids" if ids[:len(tokens)] == tokens else f"DIFFERENT ids: {ids[:8]} vs {tokens[:8]}"


def weights_agree(export_dir):
    """torch.load (weights_only) of pytorch_model.bin against model.safetensors: names, values, strides."""
    import torch
    from safetensors.torch import load_file
    a = torch.load(os.path.join(export_dir, "pytorch_model.bin"), weights_only=True)
    b = load_file(os.path.join(export_dir, "model.safetensors"))
    same = list(a) == list(b) and all(torch.equal(a[k], b[k]) and a[k].stride() == b[k].stride() for k in a)
    return f"torch.load == safetensors ({len(a)} tensors)" if same else "DIFFERENT"


def make_checkpoints(ssmlab, root, work):
    made = []
    for config in ("configs/mamba1_s16.yaml", "configs/mamba2_s128.yaml"):
        run_dir = os.path.join(work, "runs", os.path.basename(config)[:-5])
        shutil.rmtree(run_dir, ignore_errors=True)
        run([ssmlab, "train", config, "--set", "train.steps=30", "--run-dir", run_dir, "--quiet"], cwd=root)
        made.append(os.path.join(run_dir, "ckpt"))
    return made


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ssmlab", default=os.path.join(root, "build", "cli", "ssmlab"))
    ap.add_argument("--work", default="/tmp/ssmlab-exports")
    ap.add_argument("--model", action="append", help="an ssmlab checkpoint (repeatable; default: train two)")
    ap.add_argument("--text", default=os.path.join(root, "README.md"), help="the text scored")
    ap.add_argument("--length", type=int, default=512, help="tokens scored")
    args = ap.parse_args()
    ssmlab = os.path.abspath(args.ssmlab)
    os.makedirs(args.work, exist_ok=True)
    models = args.model or make_checkpoints(ssmlab, root, args.work)

    print("| checkpoint | target | library | tokens | ssmlab: export == checkpoint | max rel. loss diff | tokenizer / weights | result |")
    print("|---|---|---|---|---|---|---|---|")
    failed = False
    for ckpt in models:
        arch = arch_of(ckpt)
        tokens, ours = per_token(ssmlab, ckpt, args.text, args.length, os.path.join(args.work, arch + ".csv"))
        for target in TARGETS.get(arch, []):
            out = os.path.join(args.work, f"{arch}-{target}")
            shutil.rmtree(out, ignore_errors=True)
            run([ssmlab, "export", "--model", ckpt, "--to", target, "--out", out])
            back_tokens, back = per_token(ssmlab, out, args.text, args.length, out + ".csv")
            same = "identical" if (back_tokens, back) == (tokens, ours) else "DIFFERENT"
            row = [f"{arch} ({os.path.basename(os.path.dirname(ckpt))})", target]
            module = "transformers" if target == "hf" else "mamba_ssm"
            try:
                importlib.import_module(module)
            except Exception as e:  # noqa: BLE001 (any import failure means: not available here)
                # Without the library, what torch alone can check: pytorch_model.bin == model.safetensors.
                weights = weights_agree(out) if target == "state-spaces" else "not checked"
                ok = same == "identical" and weights != "DIFFERENT"
                failed |= not ok
                print("| " + " | ".join(row + [f"{module} not importable ({type(e).__name__})", str(len(ours)),
                                               same, "", weights, "model skipped" if ok else "FAILED"]) + " |")
                continue
            theirs, library = reference_losses(target, arch, out, tokens)
            rel = max(abs(a - b) / max(abs(b), 1e-6) for a, b in zip(theirs, ours))
            tok = tokenizer_agrees(target, out, args.text, tokens)
            ok = same == "identical" and rel <= TOLERANCE and not tok.startswith("DIFFERENT")
            failed |= not ok
            print("| " + " | ".join(row + [library, str(len(ours)), same, f"{rel:.1e}", tok,
                                           "passed" if ok else "FAILED"]) + " |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
