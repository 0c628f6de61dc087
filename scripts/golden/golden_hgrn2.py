# scripts/golden/golden_hgrn2.py — the HGRN-2 fixture, computed by fla's HGRN2ForCausalLM on the
# CPU: the Triton calls the layer makes are replaced by fla's own naive recurrence and by plain
# torch ops of the same math, and the result is cross-checked against an independent forward
# written from docs/arch/hgrn2.md.
#
# Not for: the shared pipeline (golden_common.py).

from __future__ import annotations

import torch
import torch.nn.functional as F

from golden_common import Fixture, KeepFloat64, Runner, generator, hf_config_json, perturb_

VOCAB, D_MODEL, N_LAYER, EXPAND_RATIO, INTERMEDIATE, NORM_EPS = 64, 32, 2, 8, 64, 1e-6
# fla's HGRN2Attention calls rms_norm_linear(o, g_norm.weight, g_norm.bias, o_proj.weight, o_proj.bias)
# without eps, so g_norm runs at that function's default, not at config.norm_eps.
G_NORM_EPS_FLA = 1e-5


def _torch_fused_recurrent_gla(q, k, v, gk=None, gv=None, scale=None, initial_state=None,
                               output_final_state=False, reverse=False, cu_seqlens=None,
                               state_v_first=False, **unused):
    """fused_recurrent_gla's contract on top of fla.ops.gla.naive.naive_recurrent_gla."""
    from fla.ops.gla.naive import naive_recurrent_gla
    if gv is not None or reverse or cu_seqlens is not None or unused:
        raise NotImplementedError("golden HGRN-2: unexpected fused_recurrent_gla arguments")
    if scale is not None and abs(scale - q.shape[-1] ** -0.5) > 0:
        raise NotImplementedError("naive_recurrent_gla always scales by K^-1/2")
    if initial_state is not None and state_v_first:
        initial_state = initial_state.transpose(-1, -2)
    o, state = naive_recurrent_gla(q, k, v, gk, initial_state=initial_state,
                                   output_final_state=output_final_state)
    if state is not None and state_v_first:
        state = state.transpose(-1, -2)
    return o, state


def _torch_rms_norm_linear(x, norm_weight, norm_bias, linear_weight, linear_bias, residual=None,
                           eps=G_NORM_EPS_FLA, prenorm=False, residual_in_fp32=False):
    """fla.modules.norm.layernorm.rms_norm_linear (a Triton kernel) in plain torch."""
    if residual is not None or prenorm:
        raise NotImplementedError("golden HGRN-2: rms_norm_linear with a residual")
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * norm_weight
    if norm_bias is not None:
        y = y + norm_bias
    return F.linear(y, linear_weight, linear_bias)


def _no_triton(*args, **kwargs):
    raise RuntimeError("golden HGRN-2: a Triton path was reached")


def patch_fla_for_cpu() -> str:
    """Points fla's HGRN-2 layer and GatedMLP at torch implementations; returns what was patched."""
    import fla.layers.hgrn2 as layer
    import fla.modules.mlp as mlp
    layer.swish = F.silu
    layer.fused_recurrent_gla = _torch_fused_recurrent_gla
    layer.rms_norm_linear = _torch_rms_norm_linear
    layer.chunk_gla = layer.fused_chunk_gla = _no_triton     # unused for T <= 64: made to fail loudly
    mlp.swiglu = lambda gate, up: F.silu(gate) * up
    mlp.swiglu_linear = _no_triton
    return ("fla.layers.hgrn2.{swish -> torch silu, fused_recurrent_gla -> fla.ops.gla.naive."
            "naive_recurrent_gla, rms_norm_linear -> torch RMSNorm(eps 1e-5) + linear}, "
            "fla.modules.mlp.swiglu -> silu(gate)*up; config fuse_norm/fuse_swiglu/"
            "fuse_cross_entropy = false so the block norms are torch.nn.RMSNorm")


def _config():
    from fla.models import HGRN2Config
    return HGRN2Config(vocab_size=VOCAB, hidden_size=D_MODEL, num_hidden_layers=N_LAYER,
                       expand_ratio=EXPAND_RATIO, intermediate_size=INTERMEDIATE, use_lower_bound=True,
                       use_short_conv=False, norm_eps=NORM_EPS, tie_word_embeddings=False,
                       hidden_act="swish", fuse_norm=False, fuse_swiglu=False, fuse_cross_entropy=False)


def _perturb(model, seed):
    gen = generator(seed)
    for name, p in model.named_parameters():
        if name == "model.lower_bounds":
            perturb_(p, gen, rel=0.0, floor=0.5)       # 0 at init: lb_1 = 0.5 everywhere
        elif name.endswith("norm.weight"):
            perturb_(p, gen, rel=0.0, floor=0.1)       # RMSNorm gains = 1 at init
        elif name.endswith("f_proj.weight"):
            perturb_(p, gen, rel=0.0, floor=0.1)       # spread σ(f) so forget gates differ
        else:
            perturb_(p, gen, rel=0.1, floor=0.05)


def models_md_forward(p, ids, g_norm_eps):
    """Independent HGRN-2 forward from docs/arch/hgrn2.md (sequential recurrence), for cross-checking."""
    H, Kh = D_MODEL // EXPAND_RATIO, EXPAND_RATIO

    def rms(x, w, eps):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    h = p["model.embeddings.weight"][ids]
    B, T, _ = h.shape
    gam = torch.softmax(p["model.lower_bounds"], dim=0)
    lbs = torch.cumsum(gam, 0) - gam[0]
    for l in range(N_LAYER):
        a = f"model.layers.{l}."
        u = rms(h, p[a + "attn_norm.weight"], NORM_EPS)
        q = F.silu(u @ p[a + "attn.q_proj.weight"].t())
        f = u @ p[a + "attn.f_proj.weight"].t()
        v = u @ p[a + "attn.i_proj.weight"].t()
        alpha = torch.sigmoid(f) if l == 0 else lbs[l] + (1 - lbs[l]) * torch.sigmoid(f)
        k = 1 - alpha
        S = torch.zeros(B, H, Kh, Kh, dtype=h.dtype)
        outs = []
        for t in range(T):
            S = alpha[:, t].view(B, H, Kh, 1) * S + k[:, t].view(B, H, Kh, 1) * v[:, t].view(B, H, 1, Kh)
            outs.append(torch.einsum("bhk,bhkv->bhv", q[:, t].view(B, H, Kh) * Kh ** -0.5, S).reshape(B, -1))
        o = rms(torch.stack(outs, 1), p[a + "attn.g_norm.weight"], g_norm_eps)
        h = h + o @ p[a + "attn.o_proj.weight"].t()
        x = rms(h, p[a + "mlp_norm.weight"], NORM_EPS)
        m = F.silu(x @ p[a + "mlp.gate_proj.weight"].t()) * (x @ p[a + "mlp.up_proj.weight"].t())
        h = h + m @ p[a + "mlp.down_proj.weight"].t()
    return rms(h, p["model.norm.weight"], NORM_EPS) @ p["lm_head.weight"].t()


def hgrn2_param_count(d, L, V, I):
    per_layer = d + 4 * d * d + d + d + 3 * d * I    # attn_norm, q/f/i/o, g_norm, mlp_norm, MLP
    return 2 * V * d + L * d + d + L * per_layer      # emb + head (untied), lower_bounds, norm


def build_hgrn2(seed: int) -> Fixture:
    from importlib.metadata import version as pkg_version
    from fla.models import HGRN2ForCausalLM
    patched = patch_fla_for_cpu()
    cfg = _config()
    torch.manual_seed(seed)
    model = HGRN2ForCausalLM(cfg)
    _perturb(model, seed)
    weights = {k: v.detach().clone().float() for k, v in model.state_dict().items()}

    def make_runner(w):
        m = HGRN2ForCausalLM(cfg)
        missing, unexpected = m.load_state_dict(w, strict=True)
        m = m.double().eval()
        if m.lm_head.weight is m.model.embeddings.weight:
            raise RuntimeError("hgrn2 head must be untied")
        every = dict(m.named_parameters(remove_duplicate=False))

        def final_states(ids):
            out = m(input_ids=ids, use_cache=True)
            return {f"{i}.recurrent": out.past_key_values[i]["recurrent_state"].transpose(-1, -2).clone()
                    for i in range(N_LAYER)}

        return Runner(params={k: every[k] for k in w}, logits=lambda ids: m(input_ids=ids).logits,
                      final_states=final_states)

    def crosscheck(w, ids):
        if ids.shape[1] > 64:
            raise RuntimeError("T > 64 would take fla's chunk path, which is not patched")
        p = {k: v.double() for k, v in w.items()}
        runner = make_runner(w)
        with torch.no_grad(), KeepFloat64():
            fla_logits = runner.logits(ids)
            same_eps = models_md_forward(p, ids, G_NORM_EPS_FLA)
            doc_eps = models_md_forward(p, ids, NORM_EPS)
        diff = (fla_logits - same_eps).abs().max().item() / same_eps.abs().max().item()
        if diff > 1e-12:
            raise RuntimeError(f"hgrn2: fla vs docs/arch/hgrn2.md forward differ (rel {diff:.3e})")
        eps_effect = (fla_logits - doc_eps).abs().max().item()
        return {"models_md_forward_g_norm_eps_1e-5_max_rel": f"{diff:.3e}",
                "models_md_forward_g_norm_eps_1e-6_max_abs": f"{eps_effect:.3e} (the g_norm eps matters)"}

    def self_checks():
        count = sum(t.numel() for t in weights.values())
        want = hgrn2_param_count(D_MODEL, N_LAYER, VOCAB, INTERMEDIATE)
        if hgrn2_param_count(2048, 24, 32000, 5632) != 1_364_396_032:
            raise RuntimeError("hgrn2 formula does not reproduce hgrn2-1.3B (docs/architectures.md)")
        if count != want:
            raise RuntimeError(f"hgrn2 parameter count {count} != formula {want}")
        return {"param_count": f"{count} (= docs/architectures.md formula; 1,364,396,032 for hgrn2-1.3B)"}

    return Fixture(
        arch="hgrn2", config=hf_config_json(cfg), weights=weights, make_runner=make_runner,
        reference=(f"flash-linear-attention {pkg_version('flash-linear-attention')} (fla-core "
                   f"{pkg_version('fla-core')}) fla.models.HGRN2ForCausalLM on CPU, T <= 64 so the layer "
                   f"takes its fused_recurrent branch; patched: {patched}"),
        metadata={"g_norm_eps": f"{G_NORM_EPS_FLA:g}: fla applies g_norm through rms_norm_linear without "
                                f"passing eps, so its default 1e-5 is used, not config norm_eps {NORM_EPS:g}",
                  "gla_scale": f"queries scaled by expand_ratio^-1/2 = {EXPAND_RATIO ** -0.5!r}",
                  "state.recurrent": "final_state.{layer}.recurrent (B, H, K, V): S[b,h,i,j], i the key "
                                     "(q/forget) channel, j the value (i_proj) channel within head h, after "
                                     "the last token; fla's cache holds the transpose (state_v_first=True)"},
        crosscheck=crosscheck, self_checks=self_checks)
