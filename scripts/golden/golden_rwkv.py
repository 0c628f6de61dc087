# scripts/golden/golden_rwkv.py — the RWKV-5 (x052 / v5.2) and RWKV-6 (x060) fixtures: official
# .pth tensor names and shapes, the RWKV-LM init of docs/arch/rwkv5.md / rwkv6.md followed by seeded noise,
# and the cross-check of golden_rwkv_forward.py against BlinkDL's rwkv package (ChatRWKV).
#
# Not for: the differentiable forward itself (golden_rwkv_forward.py) or the shared pipeline.

from __future__ import annotations

import math
import os
import tempfile

import torch

from golden_common import Fixture, KeepFloat64, Runner, generator, perturb_
from golden_rwkv_forward import GN_EPS, rwkv_forward

VOCAB, C, N_LAYER, HEAD_SIZE = 64, 32, 2, 8
DIM_FFN = int((C * 3.5) // 32 * 32)          # RWKV-LM train.py default for x052 and x060: 96
LORA_MIX, LORA_DECAY = 4, 8


def _orthogonal(rows, cols, gain, gen):
    w = torch.empty(rows, cols)
    if gain == 0:
        return w.zero_()
    q, _ = torch.linalg.qr(torch.randn(max(rows, cols), min(rows, cols), generator=gen))
    return (q if rows >= cols else q.t()).contiguous() * gain


def _decay_init(n_ch, r01):
    n = torch.arange(n_ch, dtype=torch.float32)
    return -6 + 5 * (n / (n_ch - 1)) ** (0.7 + 1.3 * r01)


def _faaaa_init(n_ch, r01):
    n = torch.arange(n_ch, dtype=torch.float32)
    return r01 * (1 - n / (n_ch - 1)) + 0.1 * (((n + 1) % 3) - 1)


def reference_init(version: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """RWKV-LM's init (docs/arch/rwkv5.md / rwkv6.md, initialisation) under the official .pth names and shapes."""
    H = C // HEAD_SIZE
    w = {"emb.weight": (torch.rand(VOCAB, C, generator=gen) * 2 - 1) * 1e-4,
         "blocks.0.ln0.weight": torch.ones(C), "blocks.0.ln0.bias": torch.zeros(C)}
    ddd = torch.arange(C, dtype=torch.float32) / C
    for l in range(N_LAYER):
        r01, r1a0 = l / (N_LAYER - 1), 1 - l / N_LAYER
        b, a, f = f"blocks.{l}.", f"blocks.{l}.att.", f"blocks.{l}.ffn."
        for ln in ("ln1", "ln2"):
            w[f"{b}{ln}.weight"], w[f"{b}{ln}.bias"] = torch.ones(C), torch.zeros(C)
        row = lambda t: t.reshape(1, 1, C)
        if version == 5:
            w[a + "time_mix_k"] = row(ddd ** r1a0)
            w[a + "time_mix_v"] = row(ddd ** r1a0 + 0.3 * r01)
            w[a + "time_mix_r"] = row(ddd ** (0.5 * r1a0))
            w[a + "time_mix_g"] = row(ddd ** (0.5 * r1a0))
            w[a + "time_decay"] = _decay_init(C, r01).reshape(H, HEAD_SIZE)
        else:
            for s in "xwk":
                w[a + f"time_maa_{s}"] = row(1 - ddd ** r1a0)
            w[a + "time_maa_v"] = row(1 - (ddd ** r1a0 + 0.3 * r01))
            w[a + "time_maa_r"] = row(1 - ddd ** (0.5 * r1a0))
            w[a + "time_maa_g"] = row(1 - ddd ** (0.5 * r1a0))
            w[a + "time_maa_w1"] = torch.zeros(C, 5 * LORA_MIX)
            w[a + "time_maa_w2"] = (torch.rand(5, LORA_MIX, C, generator=gen) * 2 - 1) * 0.01
            w[a + "time_decay"] = row(_decay_init(C, r01))
            w[a + "time_decay_w1"] = torch.zeros(C, LORA_DECAY)
            w[a + "time_decay_w2"] = (torch.rand(LORA_DECAY, C, generator=gen) * 2 - 1) * 0.01
        w[a + "time_faaaa"] = _faaaa_init(C, r01).reshape(H, HEAD_SIZE)
        for name, gain in (("receptance", 1.0), ("key", 0.1), ("value", 1.0), ("gate", 0.1), ("output", 0.0)):
            w[f"{a}{name}.weight"] = _orthogonal(C, C, gain, gen)
        w[a + "ln_x.weight"] = torch.full((C,), ((1 + l) / N_LAYER) ** 0.7)
        w[a + "ln_x.bias"] = torch.zeros(C)
        ffn_exp = r1a0 if version == 5 else r1a0 ** 3
        if version == 5:
            w[f + "time_mix_k"] = row(ddd ** ffn_exp)
            w[f + "time_mix_r"] = row(ddd ** ffn_exp)
        else:
            w[f + "time_maa_k"] = row(1 - ddd ** ffn_exp)
            w[f + "time_maa_r"] = row(1 - ddd ** ffn_exp)
        w[f + "key.weight"] = _orthogonal(DIM_FFN, C, 1.0, gen)
        w[f + "receptance.weight"] = _orthogonal(C, C, 0.0, gen)
        w[f + "value.weight"] = _orthogonal(C, DIM_FFN, 0.0, gen)
    w["ln_out.weight"], w["ln_out.bias"] = torch.ones(C), torch.zeros(C)
    w["head.weight"] = _orthogonal(VOCAB, C, 0.5 * math.sqrt(VOCAB / C), gen)
    return w


def perturb_rwkv_(w: dict[str, torch.Tensor], gen: torch.Generator) -> None:
    """Noise on every tensor; every 5th decay channel made strong (per-step decay e^-4.5 .. e^-20)."""
    for name, t in w.items():
        if name.endswith("time_decay"):
            perturb_(t, gen, rel=0.0, floor=0.3)
            flat = t.view(-1)
            strong = torch.arange(2, flat.numel(), 5)
            flat[strong] = 1.5 + 1.5 * torch.rand(strong.numel(), generator=gen)
        elif name == "emb.weight":
            perturb_(t, gen, rel=0.0, floor=0.1)       # U(±1e-4) at init: LN0 would amplify it 1e3×
        elif "time_mix" in name or ("time_maa_" in name and t.shape[:2] == (1, 1)):
            perturb_(t, gen, rel=0.0, floor=0.05)
        elif name.endswith("_w1") or name.endswith("_w2"):
            perturb_(t, gen, rel=0.0, floor=0.1)       # LoRA: w1 = 0 at init
        elif ".ln" in name or name.startswith("ln_out"):
            perturb_(t, gen, rel=0.0, floor=0.1)       # LayerNorm / GroupNorm affine
        elif name.endswith("time_faaaa"):
            perturb_(t, gen, rel=0.0, floor=0.1)
        else:
            perturb_(t, gen, rel=0.1, floor=0.05)      # matrices, incl. the zero-init ones


def param_count_formula(version, C_, L, V, F_, rm=0, rd=0) -> int:
    """docs/architectures.md per-layer formulas plus emb, head, ln0 and ln_out."""
    if version == 5:
        per_layer = 4 * C_ + 8 * C_ + 5 * C_ * C_ + 2 * C_ + 2 * C_ * F_ + C_ * C_
    else:
        per_layer = (4 * C_ + (6 * C_ + C_ * 5 * rm + 5 * rm * C_ + C_ + 2 * C_ * rd + C_ + 5 * C_ * C_ + 2 * C_)
                     + (2 * C_ + 2 * C_ * F_ + C_ * C_))
    return 2 * V * C_ + 4 * C_ + L * per_layer


# docs/arch/rwkv{5,6}.md: the formula must reproduce the published sizes before it judges the tiny model.
PUBLISHED = {5: (param_count_formula(5, 2048, 24, 65536, 7168), 1_577_754_624),
             6: (param_count_formula(6, 2048, 24, 65536, 7168, 32, 64), 1_599_873_024)}


def _rwkv_package_model(weights, dtype):
    """BlinkDL's rwkv.model.RWKV on an official .pth of `weights`, strategy "cpu fp32".

    For float64 the .pth is written in float64 and the package is loaded and run under
    KeepFloat64, so its load-time preprocessing (exp(−exp(time_decay)), LN0 folded into the
    embedding, transposes) also runs in float64; only its matmul helper, which rejects dtypes other
    than fp16/bf16/fp32, is widened. The math of att_seq_v5_2 / att_seq_v6_0 / ffn_seq is untouched.
    """
    import rwkv.model as rm
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tiny.pth")
        torch.save({k: v.to(dtype).clone() for k, v in weights.items()}, path)
        if dtype == torch.float64:
            rm.matmul = lambda a, b, mx=None, rx=None, my=None, ry=None, output_dtype=None: a @ b
            with torch.no_grad(), KeepFloat64():
                return rm.RWKV(model=path, strategy="cpu fp32", verbose=False)
        return rm.RWKV(model=path, strategy="cpu fp32", verbose=False)


def _package_run(model, ids):
    """Per batch row (the package is single-sequence): logits (B,T,V), states as in rwkv_forward."""
    logits, states = [], {}
    for b in range(ids.shape[0]):
        out, st = model.forward(ids[b].tolist(), None, full_output=True)
        logits.append(out.double())
        for i in range(N_LAYER):         # package state per layer: att shift, wkv (H,K,V), ffn shift
            for j, kind in enumerate(("att_shift", "wkv", "ffn_shift")):
                states.setdefault(f"{i}.{kind}", []).append(st[3 * i + j].double())
    return torch.stack(logits), {k: torch.stack(v) for k, v in states.items()}


def _max_diffs(a, b):
    abs_ = (a - b).abs().max().item()
    return abs_, abs_ / b.abs().max().item()


def build_rwkv(arch: str, seed: int) -> Fixture:
    from importlib.metadata import version as pkg_version
    version = 5 if arch == "rwkv5" else 6
    gen = generator(seed)
    weights = reference_init(version, gen)
    perturb_rwkv_(weights, gen)
    weights = {k: v.float().contiguous() for k, v in weights.items()}

    def make_runner(w):
        params = {k: v.double().requires_grad_(True) for k, v in w.items()}
        fwd = lambda ids: rwkv_forward(params, ids, version, N_LAYER, HEAD_SIZE)
        return Runner(params=params, logits=lambda ids: fwd(ids)[0], final_states=lambda ids: fwd(ids)[1])

    def crosscheck(w, ids):
        out = {}
        with torch.no_grad(), KeepFloat64():
            ours, our_states = rwkv_forward({k: v.double() for k, v in w.items()}, ids, version, N_LAYER, HEAD_SIZE)
        for dtype, tol in ((torch.float32, 1e-4), (torch.float64, 1e-11)):
            import rwkv.model as rm
            saved_matmul = rm.matmul
            try:
                model = _rwkv_package_model(w, dtype)
                if dtype == torch.float64:
                    with torch.no_grad(), KeepFloat64():
                        ref, ref_states = _package_run(model, ids)
                else:
                    ref, ref_states = _package_run(model, ids)
            finally:
                rm.matmul = saved_matmul
            tag = "fp32" if dtype == torch.float32 else "fp64"
            if model.version != (5.2 if version == 5 else 6.0):
                raise RuntimeError(f"rwkv package detected v{model.version}")
            a, r = _max_diffs(ours, ref)
            out[f"rwkv_pkg_{tag}_logits_max_abs"] = f"{a:.3e}"
            out[f"rwkv_pkg_{tag}_logits_max_rel"] = f"{r:.3e}"
            worst_state = 0.0
            for k, v in ref_states.items():
                worst_state = max(worst_state, _max_diffs(our_states[k], v)[1])
            out[f"rwkv_pkg_{tag}_states_max_rel"] = f"{worst_state:.3e}"
            if r > tol or worst_state > tol:
                raise RuntimeError(f"{arch}: forward vs rwkv package ({tag}): logits rel {r:.3e}, "
                                   f"states rel {worst_state:.3e} (tolerance {tol})")
        return out

    def self_checks():
        count = sum(t.numel() for t in weights.values())
        want = param_count_formula(version, C, N_LAYER, VOCAB, DIM_FFN, LORA_MIX, LORA_DECAY)
        if PUBLISHED[version][0] != PUBLISHED[version][1] or count != want:
            raise RuntimeError(f"{arch}: parameter count {count}, formula {want}, published {PUBLISHED[version]}")
        x = torch.randn(5, C, generator=generator(3), dtype=torch.float64)
        H = C // HEAD_SIZE
        gn = (torch.nn.functional.group_norm(x / 8, H, eps=1e-5)
              - torch.nn.functional.group_norm(x, H, eps=GN_EPS)).abs().max().item()
        if gn > 1e-12:
            raise RuntimeError(f"GN(x/8, 1e-5) != GN(x, 64e-5): {gn}")
        return {"param_count": f"{count} (= docs/architectures.md formula, which gives "
                                f"{PUBLISHED[version][1]:,} for the published 1B5/1B6)",
                "gn_div8_vs_eps64e-5_max_abs": f"{gn:.1e}"}

    shapes = {"n_embd": C, "n_layer": N_LAYER, "head_size": HEAD_SIZE, "dim_ffn": DIM_FFN,
              "vocab_size": VOCAB, "layer_norm_epsilon": 1e-5, "group_norm_epsilon": 6.4e-4}
    config = {"architecture": arch, **shapes}
    if version == 6:
        config.update(lora_rank_mix=LORA_MIX, lora_rank_decay=LORA_DECAY)
    formulation = "x052 (v5.2)" if version == 5 else "x060"
    return Fixture(
        arch=arch, config=config, weights=weights, make_runner=make_runner,
        reference=(f"RWKV-LM {formulation} training formulation in float64 (scripts/golden/"
                   f"golden_rwkv_forward.py, WKV core fla.ops.rwkv6.recurrent_naive."
                   f"naive_recurrent_rwkv6 of flash-linear-attention "
                   f"{pkg_version('flash-linear-attention')}), asserted equal to rwkv {pkg_version('rwkv')} "
                   f"rwkv.model.RWKV (ChatRWKV, strategy 'cpu fp32', JIT and CUDA off)"),
        metadata={"config_convention": "config.json is ssmlab's convention: official RWKV .pth files have no config",
                  "state.att_shift": "final_state.{layer}.att_shift (B, C): LN1 output of the last token "
                                     "(TimeMix token-shift state)",
                  "state.wkv": "final_state.{layer}.wkv (B, H, K, V): S[b,h,i,j], i the key (r/k) channel and "
                               "j the value channel within head h, after the last token (rwkv package layout)",
                  "state.ffn_shift": "final_state.{layer}.ffn_shift (B, C): LN2 output of the last token "
                                     "(ChannelMix token-shift state)",
                  "group_norm": "ln_x is GroupNorm(H groups, eps 64e-5) on o, equivalent to the official GN(o/8, 1e-5)",
                  "loss_extras": "no L2Wrap term: plain cross-entropy"},
        crosscheck=crosscheck, self_checks=self_checks)
