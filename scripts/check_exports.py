#!/usr/bin/env python3
"""scripts/check_exports.py — ssmlab's exports opened by the reference libraries, per-token losses
compared with ssmlab's own (docs/export.md keeps the last results).

For every checkpoint given (default: 30 training steps of each of the five demo configs,
configs/{mamba1_s16,mamba2_s128,rwkv5_h32,rwkv6_h32,hgrn2_h32}.yaml, made here), and every
target that takes its architecture:
  1. `ssmlab export --to TARGET`;
  2. `ssmlab ppl --per-token` on the export and on the checkpoint itself: the two must be equal
     (ssmlab loads its own export back with identical losses);
  3. the target library loads the export with its standard call (transformers'
     Mamba*ForCausalLM.from_pretrained / AutoTokenizer.from_pretrained, mamba_ssm's
     MambaLMHeadModel.from_pretrained, fla's AutoModelForCausalLM.from_pretrained, the rwkv
     package's RWKV(model=...)), scores the same tokens, and its losses must be within 1e-4
     relative of ssmlab's; a tokenizer.json must give ssmlab's token ids, and torch.load of a
     .bin/.pth the tensors of model.safetensors. On a CPU, fla's Triton kernels are replaced by
     torch code (fla_on_cpu below).
A library that is not importable (mamba_ssm needs CUDA) makes its rows "model skipped"; for
state-spaces torch.load still reads pytorch_model.bin and must give model.safetensors' tensors.
Not run in CI,
which has no PyPI; needs torch, transformers and safetensors (pip install torch transformers
safetensors; rwkv and flash-linear-attention for their rows). Exit status 0 when every row that
ran passed.

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

TARGETS = {"mamba1": ["hf", "state-spaces"], "mamba2": ["hf", "state-spaces"], "rwkv5": ["rwkv"],
           "rwkv6": ["rwkv", "fla"], "hgrn2": ["fla"]}
MODULE = {"hf": "transformers", "state-spaces": "mamba_ssm", "rwkv": "rwkv", "fla": "fla"}
PICKLE = {"state-spaces": "pytorch_model.bin", "rwkv": "model.pth"}  # beside model.safetensors
# The checkpoints made when none is given: (config, run name, --set overrides). The rwkv package
# fixes RWKV-6's ln_x eps at 64e-5 and fla ties it to the LayerNorms' 1e-5, so each gets its own
# RWKV-6 (export refuses the other: a row "refused").
RUNS = [("mamba1_s16", "mamba1_s16", []), ("mamba2_s128", "mamba2_s128", []), ("rwkv5_h32", "rwkv5_h32", []),
        ("rwkv6_h32", "rwkv6_h32", []), ("rwkv6_h32", "rwkv6_h32_eps1e-5", ["model.group_norm_eps=1e-5"]),
        ("hgrn2_h32", "hgrn2_h32", [])]
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


def fla_on_cpu():
    """fla's kernels are Triton, which needs a GPU. On a CPU, its HGRN-2 and RWKV-6 layers run with
    torch code in their place: fla's own reference recurrences (naive_recurrent_gla,
    naive_recurrent_rwkv6) and token shift (token_shift_ref), and RMSNorm, GroupNorm, the g_norm +
    o_proj pair (with the 1e-5 eps fla's functional call uses), SwiGLU, SiLU and squared ReLU
    written out. Everything
    else (projections, LoRAs, gates, lower bounds, norms' placement, residuals) is fla's model code."""
    import torch
    import torch.nn.functional as F
    import fla
    import fla.layers.hgrn2 as layer
    import fla.layers.rwkv6 as rwkv6_layer
    import fla.models.rwkv6.modeling_rwkv6 as rwkv6_model
    import fla.modules.mlp as mlp
    from fla.modules.token_shift import token_shift_ref
    from fla.ops.gla.naive import naive_recurrent_gla
    from fla.ops.rwkv6.recurrent_naive import naive_recurrent_rwkv6

    def rwkv6(r, k, v, w, u, scale=1.0, initial_state=None, output_final_state=False, **_):
        o, h = naive_recurrent_rwkv6(*(x.transpose(1, 2) for x in (r, k, v, w)), u, scale, initial_state,
                                     output_final_state)  # it takes (B, H, T, K); the layer has (B, T, H, K)
        return o.transpose(1, 2), h

    def group_norm_forward(self, x, residual=None, prenorm=False, **_):
        if residual is not None:
            x = residual = x + residual
        shape = x.shape
        y = F.group_norm(x.reshape(-1, shape[-1]).float(), self.num_groups, self.weight, self.bias, self.eps)
        y = y.reshape(shape).to(x.dtype)
        return (y, residual) if prenorm else y

    def gla(q, k, v, g=None, gk=None, initial_state=None, output_final_state=False, **_):
        return naive_recurrent_gla(q, k, v, gk if gk is not None else g, initial_state, output_final_state)

    def rms(x, weight, bias, eps):
        y = x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps)
        y = y * weight if weight is not None else y
        return (y + bias if bias is not None else y).to(x.dtype)

    def norm_forward(self, x, residual=None, prenorm=False, **_):
        if residual is not None:
            x = residual = x + residual
        y = rms(x, self.weight, getattr(self, "bias", None), self.eps)
        return (y, residual) if prenorm else y

    def norm_linear(x, norm_weight, norm_bias, linear_weight, linear_bias, eps=1e-5, **_):
        return F.linear(rms(x, norm_weight, norm_bias, eps), linear_weight, linear_bias)

    layer.fused_recurrent_gla = gla
    layer.chunk_gla = gla
    rwkv6_layer.fused_recurrent_rwkv6 = rwkv6
    rwkv6_layer.chunk_rwkv6 = rwkv6
    rwkv6_layer.token_shift = rwkv6_model.token_shift = token_shift_ref
    fla.modules.GroupNorm.forward = group_norm_forward
    from fla.modules.activations import ACT2FN  # the dict the layers read when they are built
    ACT2FN["swish"] = ACT2FN["silu"] = F.silu
    ACT2FN["sqrelu"] = lambda x: F.relu(x).square()
    layer.swish = F.silu
    layer.rms_norm_linear = norm_linear
    fla.modules.RMSNorm.forward = norm_forward
    mlp.swiglu = lambda gate, y: F.silu(gate.float()).to(y.dtype) * y


def reference_losses(target, arch, export_dir, tokens):
    import torch
    gpu = torch.cuda.is_available()
    if target == "rwkv":
        os.environ.setdefault("RWKV_JIT_ON", "0")
        os.environ.setdefault("RWKV_CUDA_ON", "0")
        from importlib.metadata import version
        from rwkv.model import RWKV
        model = RWKV(model=os.path.join(export_dir, "model.pth"), strategy="cuda fp32" if gpu else "cpu fp32",
                     verbose=False)
        logits, _ = model.forward(tokens[:-1], None, full_output=True)
        library = f"rwkv {version('rwkv')}"
    else:
        if target == "hf":
            import transformers
            cls = transformers.Mamba2ForCausalLM if arch == "mamba2" else transformers.MambaForCausalLM
            model = cls.from_pretrained(export_dir).eval()
            library = f"transformers {transformers.__version__}"
        elif target == "fla":
            import fla
            import transformers
            if not gpu:
                fla_on_cpu()
            cpu_switches = {"fuse_norm": False} if arch == "rwkv6" else {"fuse_norm": False, "fuse_swiglu": False}
            model = transformers.AutoModelForCausalLM.from_pretrained(export_dir, **({} if gpu else cpu_switches)).eval()
            model = model.cuda() if gpu else model
            library = f"fla {fla.__version__}" + ("" if gpu else " (CPU: torch for its Triton kernels)")
        else:
            from mamba_ssm.models.mixer_seq_simple import MambaLMHeadModel
            import mamba_ssm
            model = MambaLMHeadModel.from_pretrained(export_dir, device="cuda").eval()
            library = f"mamba_ssm {mamba_ssm.__version__}"
        device = next(model.parameters()).device
        with torch.no_grad():
            logits = model(torch.tensor([tokens[:-1]], device=device)).logits[0]
    logp = torch.log_softmax(logits.double().cpu(), -1)
    targets = torch.tensor(tokens[1:])
    return (-logp[torch.arange(len(targets)), targets]).tolist(), library


def tokenizer_agrees(target, export_dir, text_file, tokens):
    if target not in ("hf", "fla"):
        return "n/a"
    import transformers
    tok = transformers.AutoTokenizer.from_pretrained(export_dir)
    ids = tok(open(text_file, encoding="utf-8").read())["input_ids"]
    return "same ids" if ids[:len(tokens)] == tokens else f"DIFFERENT ids: {ids[:8]} vs {tokens[:8]}"


def weights_agree(export_dir, target):
    """torch.load (weights_only) of the pickled weights against model.safetensors: names, values, strides."""
    import torch
    from safetensors.torch import load_file
    a = torch.load(os.path.join(export_dir, PICKLE[target]), weights_only=True)
    b = load_file(os.path.join(export_dir, "model.safetensors"))
    same = list(a) == list(b) and all(torch.equal(a[k], b[k]) and a[k].stride() == b[k].stride() for k in a)
    return f"torch.load == safetensors ({len(a)} tensors)" if same else "DIFFERENT"


def make_checkpoints(ssmlab, root, work):
    made = []
    for config_name, name, overrides in RUNS:
        config = f"configs/{config_name}.yaml"
        run_dir = os.path.join(work, "runs", name)
        shutil.rmtree(run_dir, ignore_errors=True)
        sets = [arg for o in ["train.steps=30"] + overrides for arg in ("--set", o)]
        run([ssmlab, "train", config, *sets, "--run-dir", run_dir, "--quiet"], cwd=root)
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
            exported = subprocess.run([ssmlab, "export", "--model", ckpt, "--to", target, "--out", out],
                                      capture_output=True, text=True)
            if exported.returncode == 2:  # a combination the target cannot represent: refused, as it must be
                reason = exported.stderr.strip().removeprefix("ssmlab: error: ").split("ckpt: ")[-1]
                print(f"| {arch} ({os.path.basename(os.path.dirname(ckpt))}) | {target} | | | | | {reason} | refused |")
                continue
            if exported.returncode != 0:
                raise RuntimeError(f"ssmlab export --to {target} failed: {exported.stderr.strip()}")
            back_tokens, back = per_token(ssmlab, out, args.text, args.length, out + ".csv")
            same = "identical" if (back_tokens, back) == (tokens, ours) else "DIFFERENT"
            row = [f"{arch} ({os.path.basename(os.path.dirname(ckpt))})", target]
            module = MODULE[target]
            weights = weights_agree(out, target) if target in PICKLE else ""
            try:
                importlib.import_module(module)
            except Exception as e:  # noqa: BLE001 (any import failure means: not available here)
                # Without the library, what torch alone can check: the pickle == model.safetensors.
                weights = weights or "not checked"
                ok = same == "identical" and weights != "DIFFERENT"
                failed |= not ok
                print("| " + " | ".join(row + [f"{module} not importable ({type(e).__name__})", str(len(ours)),
                                               same, "", weights, "model skipped" if ok else "FAILED"]) + " |")
                continue
            theirs, library = reference_losses(target, arch, out, tokens)
            rel = max(abs(a - b) / max(abs(b), 1e-6) for a, b in zip(theirs, ours))
            tok = tokenizer_agrees(target, out, args.text, tokens)
            if weights:
                tok = weights if tok == "n/a" else f"{tok}; {weights}"
            ok = same == "identical" and rel <= TOLERANCE and "DIFFERENT" not in tok
            failed |= not ok
            print("| " + " | ".join(row + [library, str(len(ours)), same, f"{rel:.1e}", tok,
                                           "passed" if ok else "FAILED"]) + " |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
