# scripts/golden/golden_mamba.py — the Mamba-1 and Mamba-2 fixtures, computed by transformers'
# MambaForCausalLM / Mamba2ForCausalLM on their torch ("slow") path.
#
# Not for: the shared pipeline (golden_common.py). The fast path needs mamba_ssm / causal_conv1d /
# kernels; their absence is asserted, so the torch path is the one that runs.

from __future__ import annotations

import importlib.util
import math

import torch
import torch.nn.functional as F

from golden_common import SEQ_LEN, Fixture, KeepFloat64, Runner, generator, hf_config_json, perturb_

VOCAB, D_MODEL, N_LAYER, CONV = 64, 32, 2, 4


def _assert_torch_path() -> None:
    for pkg in ("mamba_ssm", "causal_conv1d", "kernels", "mambapy"):
        if importlib.util.find_spec(pkg) is not None:
            raise RuntimeError(f"{pkg} is installed: transformers could leave the torch reference path")


def _perturb_hf_mamba(model: torch.nn.Module, seed: int) -> None:
    """Moves every tensor off its library init; decay parameters stay in realistic ranges."""
    gen = generator(seed)
    for name, p in model.named_parameters():
        if name.endswith("A_log"):
            perturb_(p, gen, rel=0.0, floor=0.1)       # A = −exp(A_log) stays near −[1..N] / −[1..H]
        elif name.endswith("dt_proj.bias") or name.endswith("dt_bias"):
            with torch.no_grad():                      # init Δ in [1e-3, 0.1]; ~2.7× larger Δ makes
                p.add_(1.0)                            # the selective scan's decays matter more
            perturb_(p, gen, rel=0.0, floor=0.3)
        elif name.endswith(".D"):
            perturb_(p, gen, rel=0.0, floor=0.2)       # D = 1 at init
        elif name.endswith("norm.weight") or name.endswith("norm_f.weight"):
            perturb_(p, gen, rel=0.0, floor=0.1)       # RMSNorm gains = 1 at init
        elif name.endswith("conv1d.bias"):
            perturb_(p, gen, rel=0.0, floor=0.1)       # HF zeroes the conv bias
        else:
            perturb_(p, gen, rel=0.1, floor=0.02)


def _weights_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The checkpoint tensors: HF names, float32, the tied lm_head left out."""
    if model.lm_head.weight is not model.backbone.embeddings.weight:
        raise RuntimeError("lm_head is not tied to backbone.embeddings")
    return {k: v.detach().clone().float() for k, v in model.state_dict().items() if k != "lm_head.weight"}


def _make_runner(model_cls, cfg, weights: dict[str, torch.Tensor]) -> Runner:
    _assert_torch_path()
    model = model_cls(cfg)
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected or set(missing) - {"lm_head.weight"}:
        raise RuntimeError(f"load_state_dict: missing {missing}, unexpected {unexpected}")
    model = model.double().eval()
    if model.lm_head.weight is not model.backbone.embeddings.weight:
        raise RuntimeError("lm_head came untied after loading")
    every = dict(model.named_parameters(remove_duplicate=False))
    params = {name: every[name] for name in weights}

    def logits(ids):
        return model(ids, use_cache=False).logits

    def final_states(ids):
        out = model(ids, use_cache=True)
        cache = out.cache_params
        states = {}
        for i in range(cfg.num_hidden_layers):
            states[f"{i}.ssm"] = cache.get_recurrent_state(i).clone()
            states[f"{i}.conv"] = cache.get_conv_state(i).clone()
        full = logits(ids)
        if (out.logits - full).abs().max().item() > 1e-12:
            raise RuntimeError("logits with and without the cache differ")
        return states

    return Runner(params=params, logits=logits, final_states=final_states, model=model)


def _decode_check(runner: Runner, ids: torch.Tensor) -> str:
    """docs/architectures.md check: prefill T−1 tokens, decode the last one, compare with the full forward."""
    model = runner.model
    with torch.no_grad(), KeepFloat64():
        full = runner.logits(ids)[:, -1]
        pre = model(ids[:, :-1], use_cache=True)
        step = model(ids[:, -1:], cache_params=pre.cache_params, use_cache=True,
                     cache_position=torch.tensor([SEQ_LEN - 1]))
    return f"{(step.logits[:, -1] - full).abs().max().item():.3e}"


# ---------------------------------------------------------------------------------------------
# Mamba-1

def _mamba1_config():
    from transformers import MambaConfig
    return MambaConfig(vocab_size=VOCAB, hidden_size=D_MODEL, num_hidden_layers=N_LAYER, state_size=8,
                       expand=2, conv_kernel=CONV, time_step_rank="auto", layer_norm_epsilon=1e-5,
                       use_bias=False, use_conv_bias=True, residual_in_fp32=True,
                       tie_word_embeddings=True)


def mamba1_param_count(D, L, V, N, K, E, R):
    """docs/architectures.md parameter counts, Mamba-1: tied embedding + norm_f + L layers."""
    di = E * D
    per_layer = 2 * D * di + di * (K + 1) + di * (R + 2 * N) + R * di + di + di * N + di + D * di + D
    return V * D + D + L * per_layer


def build_mamba1(seed: int) -> Fixture:
    import transformers
    from transformers import MambaForCausalLM
    cfg = _mamba1_config()
    if cfg.time_step_rank != math.ceil(D_MODEL / 16):
        raise RuntimeError(f"dt_rank auto gave {cfg.time_step_rank}")
    torch.manual_seed(seed)
    model = MambaForCausalLM(cfg)
    _perturb_hf_mamba(model, seed)
    weights = _weights_of(model)
    make_runner = lambda w: _make_runner(MambaForCausalLM, cfg, w)

    def self_checks():
        count = sum(t.numel() for t in weights.values())
        want = mamba1_param_count(D_MODEL, N_LAYER, VOCAB, 8, CONV, 2, cfg.time_step_rank)
        if mamba1_param_count(768, 24, 50280, 16, 4, 2, 48) != 129_135_360:
            raise RuntimeError("mamba1 formula does not reproduce mamba-130m (docs/architectures.md)")
        if count != want:
            raise RuntimeError(f"mamba1 parameter count {count} != docs/architectures.md formula {want}")
        runner = make_runner(weights)
        return {"param_count": f"{count} (= docs/architectures.md formula; 129,135,360 for mamba-130m)",
                "decode_vs_full_max_abs": _decode_check(runner, _ids())}

    return Fixture(
        arch="mamba1", config=hf_config_json(cfg), weights=weights, make_runner=make_runner,
        reference=f"transformers {transformers.__version__} MambaForCausalLM, torch path "
                  "(MambaMixer with the reference causal_conv1d_fn / selective_scan_fn fallbacks)",
        metadata={"tied_embeddings": "lm_head.weight is backbone.embeddings.weight; not stored; "
                                     "grad.backbone.embeddings.weight is the total gradient",
                  "state.ssm": "final_state.{layer}.ssm (B, d_inner, N): s[b,d,n] after the last token",
                  "state.conv": "final_state.{layer}.conv (B, d_inner, d_conv): the last d_conv raw "
                                "conv inputs (x half of in_proj), oldest first"},
        self_checks=self_checks)


# ---------------------------------------------------------------------------------------------
# Mamba-2

def _mamba2_config():
    from transformers import Mamba2Config
    return Mamba2Config(vocab_size=VOCAB, hidden_size=D_MODEL, num_hidden_layers=N_LAYER, state_size=16,
                        head_dim=8, num_heads=8, expand=2, n_groups=1, conv_kernel=CONV, chunk_size=8,
                        layer_norm_epsilon=1e-5, use_bias=False, use_conv_bias=True,
                        residual_in_fp32=True, tie_word_embeddings=True)


def mamba2_param_count(D, L, V, N, K, E, H, G):
    """docs/architectures.md parameter counts, Mamba-2: tied embedding + norm_f + L layers."""
    di = E * D
    per_layer = D * (2 * di + 2 * G * N + H) + (di + 2 * G * N) * (K + 1) + 3 * H + di + di * D + D
    return V * D + D + L * per_layer


def _gated_norm_order_check(model) -> str:
    """docs/arch/mamba2.md, block structure: the HF gated norm must be RMSNorm(y·silu(z)), not RMSNorm(y)·silu(z)."""
    norm = model.backbone.layers[0].mixer.norm
    gen = generator(7)
    y = torch.randn(2, 5, norm.weight.numel(), generator=gen, dtype=torch.float64)
    z = torch.randn(2, 5, norm.weight.numel(), generator=gen, dtype=torch.float64)
    eps = norm.variance_epsilon

    def rms(x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * norm.weight

    with torch.no_grad(), KeepFloat64():
        got = norm(y, z)
        gate_first = (got - rms(y * F.silu(z))).abs().max().item()
        norm_first = (got - rms(y) * F.silu(z)).abs().max().item()
    if not (gate_first < 1e-12 < norm_first):
        raise RuntimeError(f"gated norm order: |hf − norm(y·silu z)| {gate_first}, "
                           f"|hf − norm(y)·silu z| {norm_first}")
    return f"norm(y*silu(z)) (max abs {gate_first:.1e}; norm(y)*silu(z) would differ by {norm_first:.2e})"


def build_mamba2(seed: int) -> Fixture:
    import transformers
    from transformers import Mamba2ForCausalLM
    cfg = _mamba2_config()
    torch.manual_seed(seed)
    model = Mamba2ForCausalLM(cfg)
    _perturb_hf_mamba(model, seed)
    weights = _weights_of(model)
    make_runner = lambda w: _make_runner(Mamba2ForCausalLM, cfg, w)

    def self_checks():
        count = sum(t.numel() for t in weights.values())
        want = mamba2_param_count(D_MODEL, N_LAYER, VOCAB, 16, CONV, 2, 8, 1)
        if mamba2_param_count(768, 24, 50288, 128, 4, 2, 24, 1) != 128_989_632:
            raise RuntimeError("mamba2 formula does not reproduce mamba2-130m (docs/architectures.md)")
        if count != want:
            raise RuntimeError(f"mamba2 parameter count {count} != docs/architectures.md formula {want}")
        runner = make_runner(weights)
        ids = _ids()
        with torch.no_grad(), KeepFloat64():
            chunked = runner.logits(ids)
            for layer in runner.model.backbone.layers:
                layer.mixer.chunk_size = 64            # one chunk: no inter-chunk recurrence at all
            single = runner.logits(ids)
        return {"param_count": f"{count} (= docs/architectures.md formula; 128,989,632 for mamba2-130m)",
                "gated_norm_order": _gated_norm_order_check(runner.model),
                "chunk8_vs_chunk64_max_abs": f"{(chunked - single).abs().max().item():.3e}",
                "decode_vs_full_max_abs": _decode_check(make_runner(weights), ids)}

    return Fixture(
        arch="mamba2", config=hf_config_json(cfg), weights=weights, make_runner=make_runner,
        reference=f"transformers {transformers.__version__} Mamba2ForCausalLM, torch path "
                  "(Mamba2Mixer with the reference mamba_chunk_scan_combined fallback, chunk_size 8)",
        metadata={"tied_embeddings": "lm_head.weight is backbone.embeddings.weight; not stored; "
                                     "grad.backbone.embeddings.weight is the total gradient",
                  "state.ssm": "final_state.{layer}.ssm (B, H, P, N): S[b,h,p,n] after the last token",
                  "state.conv": "final_state.{layer}.conv (B, d_inner+2GN, d_conv): the last d_conv "
                                "raw conv inputs (xBC), oldest first"},
        self_checks=self_checks)


def _ids() -> torch.Tensor:
    from golden_common import random_ids
    return random_ids(VOCAB, 12345)
