# scripts/golden/golden_rwkv_forward.py — a differentiable float64 forward of the RWKV-LM training
# formulation, x052 (RWKV-5 "v5.2") and x060 (RWKV-6), over the official .pth tensor names.
#
# Why it exists: the official inference package (rwkv) preprocesses its weights under no_grad, so
# it cannot give gradients. This forward is written from docs/arch/rwkv5.md and rwkv6.md; its WKV core is fla's
# naive recurrent RWKV-6 function (a per-channel decay that is constant in time covers RWKV-5).
# golden_rwkv.py asserts that its logits and states match the rwkv package on the same weights.
#
# Not for: initialisation, checkpoint writing or the cross-check (golden_rwkv.py).

from __future__ import annotations

import torch
import torch.nn.functional as F

LN_EPS = 1e-5          # every LayerNorm
GN_EPS = 64e-5         # ln_x GroupNorm: official GN(o/8, 1e-5) == GN(o, 8²·1e-5)


def _wkv(r, k, v, log_decay, u, H):
    """WKV with bonus, pre-update readout (docs/arch/rwkv5.md / rwkv6.md), via fla's naive recurrence.

    r, k, v, log_decay: (B,T,C); u: (H,N). Returns o (B,T,C) and the final state (B,H,K,V).
    """
    from fla.ops.rwkv6.recurrent_naive import naive_recurrent_rwkv6
    B, T, C = r.shape
    N = C // H

    def heads(x):                                   # (B,T,C) -> (B,H,T,N)
        return x.reshape(B, T, H, N).transpose(1, 2)

    o, state = naive_recurrent_rwkv6(heads(r), heads(k), heads(v), heads(log_decay), u,
                                     scale=1.0, output_final_state=True)
    return o.transpose(1, 2).reshape(B, T, C), state


def _shift(x):
    """Token shift: x'_t = x_{t−1}, x'_0 = 0 (no carried state)."""
    return F.pad(x, (0, 0, 1, 0))[:, :-1]


def _ln(x, p, prefix):
    return F.layer_norm(x, (x.shape[-1],), p[prefix + ".weight"], p[prefix + ".bias"], LN_EPS)


def _linear(x, p, name):
    return x @ p[name + ".weight"].t()


def _time_mix_v5(x, p, a, H):
    xs = _shift(x)

    def mix(s):                                     # v5: x·μ + x'·(1−μ)
        mu = p[f"{a}time_mix_{s}"]
        return x * mu + xs * (1 - mu)

    r = _linear(mix("r"), p, a + "receptance")
    k = _linear(mix("k"), p, a + "key")
    v = _linear(mix("v"), p, a + "value")
    g = F.silu(_linear(mix("g"), p, a + "gate"))
    B, T, C = x.shape
    log_decay = -torch.exp(p[a + "time_decay"]).reshape(1, 1, C).expand(B, T, C)
    o, state = _wkv(r, k, v, log_decay, p[a + "time_faaaa"], H)
    return _gated_out(o, g, p, a, H), state


def _time_mix_v6(x, p, a, H):
    B, T, C = x.shape
    dx = _shift(x) - x                              # v6: x + (x'−x)·μ
    xx = x + dx * p[a + "time_maa_x"]
    w1, w2 = p[a + "time_maa_w1"], p[a + "time_maa_w2"]     # (C, 5·r_m), (5, r_m, C)
    m = torch.tanh(xx @ w1).reshape(B, T, 5, w2.shape[1])
    m = torch.einsum("btsr,src->sbtc", m, w2)       # slot order w, k, v, r, g
    xw, xk, xv, xr, xg = (x + dx * (p[f"{a}time_maa_{s}"] + m[i]) for i, s in enumerate("wkvrg"))
    r = _linear(xr, p, a + "receptance")
    k = _linear(xk, p, a + "key")
    v = _linear(xv, p, a + "value")
    g = F.silu(_linear(xg, p, a + "gate"))
    w_raw = p[a + "time_decay"].reshape(1, 1, C) + torch.tanh(xw @ p[a + "time_decay_w1"]) @ p[a + "time_decay_w2"]
    o, state = _wkv(r, k, v, -torch.exp(w_raw), p[a + "time_faaaa"], H)
    return _gated_out(o, g, p, a, H), state


def _gated_out(o, g, p, a, H):
    B, T, C = o.shape
    o = F.group_norm(o.reshape(B * T, C), H, p[a + "ln_x.weight"], p[a + "ln_x.bias"], GN_EPS)
    return _linear(o.reshape(B, T, C) * g, p, a + "output")


def _channel_mix(x, p, f, version):
    xs = _shift(x)
    if version == 5:
        xk = x * p[f + "time_mix_k"] + xs * (1 - p[f + "time_mix_k"])
        xr = x * p[f + "time_mix_r"] + xs * (1 - p[f + "time_mix_r"])
    else:
        xk = x + (xs - x) * p[f + "time_maa_k"]
        xr = x + (xs - x) * p[f + "time_maa_r"]
    k = torch.relu(_linear(xk, p, f + "key")) ** 2
    return torch.sigmoid(_linear(xr, p, f + "receptance")) * _linear(k, p, f + "value")


def rwkv_forward(p: dict[str, torch.Tensor], ids: torch.Tensor, version: int, n_layer: int, head_size: int):
    """Logits (B,T,V) and final states {"<i>.att_shift", "<i>.wkv", "<i>.ffn_shift"}."""
    H = p["emb.weight"].shape[1] // head_size
    x = _ln(p["emb.weight"][ids], p, "blocks.0.ln0")
    states = {}
    time_mix = _time_mix_v5 if version == 5 else _time_mix_v6
    for i in range(n_layer):
        xa = _ln(x, p, f"blocks.{i}.ln1")
        out, wkv = time_mix(xa, p, f"blocks.{i}.att.", H)
        x = x + out
        xf = _ln(x, p, f"blocks.{i}.ln2")
        x = x + _channel_mix(xf, p, f"blocks.{i}.ffn.", version)
        states[f"{i}.att_shift"] = xa[:, -1]
        states[f"{i}.wkv"] = wkv
        states[f"{i}.ffn_shift"] = xf[:, -1]
    logits = _ln(x, p, "ln_out") @ p["head.weight"].t()
    return logits, states
