#!/usr/bin/env python3
"""bench/torch_peer.py — the PyTorch peer of `ssmlab bench`: the same benchmarks, timed the same way
(median of repeats after warm-up; CUDA events on a GPU, the wall clock on the CPU), printed as the
same table, so each ssmlab figure gets a peer ratio.

What it times, with the row names ssmlab bench uses:
  * GEMM in four precisions (torch.matmul; TF32 off/on, bf16 autocast, bf16 tensors);
  * the Mamba-2 SSD operator in its chunked form, forward and backward: a pure-PyTorch reference
    written for this script from docs/arch/mamba2.md, chunked SSD (intra-chunk quadratic form, chunk states, state
    passing over chunks, output from the carried state), checked against a step-by-step
    recurrence by --self-test; backward is timed as (forward + backward) - forward;
  * RMSNorm, softmax and cross-entropy (plain torch ops, backward through autograd);
  * training steps (forward, cross-entropy, backward, clipping, AdamW) of a pure-PyTorch Mamba-2 of
    ssmlab's shapes built on that SSD reference, and of transformers' Mamba2ForCausalLM where
    transformers is installed (its own kernels if mamba_ssm is installed, else its torch path);
  * evaluation with transformers' Mamba2ForCausalLM under no_grad: a long sequence streamed in
    chunks of 2048 with its cache carried, and one token per call with its cache (decode), with
    the process's peak resident set per row on the CPU (as ssmlab bench measures its own).

Usage:
  ssmlab bench --json ssmlab.json            # on the same machine
  python bench/torch_peer.py --ssmlab ssmlab.json [--preset full] [--precision bf16]
  python bench/torch_peer.py --self-test     # the SSD reference against the recurrence
The presets mirror bench/sizes.cpp; keep the two in step.
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {  # bench/sizes.cpp
    "full": dict(gemm=4096, batch=4, seqlen=2048, ssd_heads=24, ssd_headdim=64, ssd_state=128, ssd_chunk=256,
                 rows=8192, width=1536, vocab=50288, warmup=3, repeats=10, train_warmup=2, train_repeats=5,
                 demo=(64, 2, 128, 32, 8, 256), big=(768, 24, 50277, 256), run_2k=(4, 2048), run_8k=(1, 8192),
                 big_label="mamba2-130m shape", stream=(65536, 262144, 65536), decode=(2048, 512),
                 scaling=((2048, 4096, 8192, 16384, 32768, 65536), 8192)),
    "small": dict(gemm=512, batch=2, seqlen=512, ssd_heads=8, ssd_headdim=64, ssd_state=64, ssd_chunk=64,
                  rows=1024, width=512, vocab=8192, warmup=1, repeats=3, train_warmup=1, train_repeats=2,
                  demo=(64, 2, 128, 32, 8, 256), big=(256, 4, 50277, 64), run_2k=(1, 512), run_8k=(1, 1024),
                  big_label="scaled down", stream=(16384, 65536, 8192), decode=(512, 128),
                  scaling=((512, 1024, 2048, 4096, 8192, 16384), 1024)),
    "tiny": dict(gemm=67, batch=1, seqlen=37, ssd_heads=2, ssd_headdim=8, ssd_state=16, ssd_chunk=16,
                 rows=37, width=67, vocab=1003, warmup=1, repeats=2, train_warmup=1, train_repeats=1,
                 demo=(16, 1, 8, 8, 2, 37), big=(32, 2, 1003, 16), run_2k=(1, 64), run_8k=(1, 128),
                 big_label="scaled down", stream=(300, 600, 200), decode=(8, 4), scaling=((32, 64), 32)),
}


# ---- the SSD reference -----------------------------------------------------------------------------
def segsum_exp(a):
    """a (..., Q) -> (..., Q, Q): exp(sum_{j<k<=i} a_k) for j <= i, 0 above the diagonal.
    A masked cumulative sum (never a difference of two cumulative sums)."""
    Q = a.shape[-1]
    strictly_lower = torch.tril(torch.ones(Q, Q, dtype=torch.bool, device=a.device), diagonal=-1)
    lower = torch.tril(torch.ones(Q, Q, dtype=torch.bool, device=a.device))
    x = a[..., :, None].expand(*a.shape, Q).masked_fill(~strictly_lower, 0.0)  # x[i, j] = a_i for i > j
    seg = torch.cumsum(x, dim=-2).masked_fill(~lower, -math.inf)
    return torch.exp(seg)


def ssd_chunked(x, dt, A, Bm, Cm, h0, Q):
    """Mamba-2 SSD, chunked. x (B,T,H,P), dt (B,T,H), A (H), Bm/Cm (B,T,G,N), h0 (B,H,P,N) or None.
    Returns y (B,T,H,P) and the final state (B,H,P,N): S_t = exp(dt A) S_{t-1} + dt x_t B_t^T, y_t = S_t C_t."""
    Bsz, T, H, P = x.shape
    G, N = Bm.shape[2], Bm.shape[3]
    pad = (-T) % Q  # zero steps at the end: decay 1 and no input, so the state is unchanged
    if pad:
        x, dt, Bm, Cm = (F.pad(t, (0, 0) * (t.dim() - 2) + (0, pad)) for t in (x, dt, Bm, Cm))
    nc = (T + pad) // Q
    Bh = Bm.repeat_interleave(H // G, dim=2).reshape(Bsz, nc, Q, H, N)
    Ch = Cm.repeat_interleave(H // G, dim=2).reshape(Bsz, nc, Q, H, N)
    xb = (x * dt[..., None]).reshape(Bsz, nc, Q, H, P)
    a = (dt * A).reshape(Bsz, nc, Q, H).permute(0, 3, 1, 2)  # (B,H,nc,Q)
    cum = torch.cumsum(a, dim=-1)
    tail = torch.cumsum(a.flip(-1), dim=-1).flip(-1) - a  # sum over the later steps of the chunk
    # 1. inside every chunk: y_i = sum_{j<=i} exp(seg(i,j)) (C_i.B_j) xb_j
    y = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", Ch, Bh, segsum_exp(a), xb)
    # 2. each chunk's own end state
    states = torch.einsum("bclhn,bhcl,bclhp->bchpn", Bh, torch.exp(tail), xb)
    # 3. the states entering each chunk, in order
    S = torch.zeros(Bsz, H, P, N, dtype=x.dtype, device=x.device) if h0 is None else h0
    chunk_decay = torch.exp(cum[..., -1])  # (B,H,nc)
    starts = []
    for c in range(nc):
        starts.append(S)
        S = chunk_decay[:, :, c, None, None] * S + states[:, c]
    # 4. what the entering state adds to each output
    y = y + torch.einsum("bclhn,bchpn,bhcl->bclhp", Ch, torch.stack(starts, dim=1), torch.exp(cum))
    return y.reshape(Bsz, nc * Q, H, P)[:, :T], S


def ssd_recurrent(x, dt, A, Bm, Cm, h0):
    Bsz, T, H, P = x.shape
    G, N = Bm.shape[2], Bm.shape[3]
    S = torch.zeros(Bsz, H, P, N, dtype=x.dtype) if h0 is None else h0.clone()
    Bh, Ch = Bm.repeat_interleave(H // G, dim=2), Cm.repeat_interleave(H // G, dim=2)
    ys = []
    for t in range(T):
        S = torch.exp(dt[:, t] * A)[..., None, None] * S + (dt[:, t, :, None] * x[:, t])[..., None] * Bh[:, t, :, None, :]
        ys.append(torch.einsum("bhpn,bhn->bhp", S, Ch[:, t]))
    return torch.stack(ys, dim=1), S


def self_test():
    torch.manual_seed(0)
    Bsz, T, H, P, G, N = 2, 37, 4, 3, 2, 5
    x, Bm, Cm = torch.randn(Bsz, T, H, P, dtype=torch.float64), torch.randn(Bsz, T, G, N, dtype=torch.float64), torch.randn(Bsz, T, G, N, dtype=torch.float64)
    dt = F.softplus(torch.randn(Bsz, T, H, dtype=torch.float64)) * 0.5
    A, h0 = -torch.exp(torch.randn(H, dtype=torch.float64) * 0.5), torch.randn(Bsz, H, P, N, dtype=torch.float64)
    y_ref, s_ref = ssd_recurrent(x, dt, A, Bm, Cm, h0)
    for Q in (1, 8, 16, 64):
        y, s = ssd_chunked(x, dt, A, Bm, Cm, h0, Q)
        err = max((y - y_ref).abs().max().item(), (s - s_ref).abs().max().item())
        print(f"ssd_chunked Q{Q} vs recurrence: max abs error {err:.2e}")
        assert err < 1e-10, "the chunked SSD reference does not match the recurrence"
    print("self-test passed")


# ---- a Mamba-2 language model on the SSD reference (docs/arch/mamba2.md) ------------------------------
class Mamba2Mixer(nn.Module):
    def __init__(self, D, N, P, Q, expand=2, W=4, G=1):
        super().__init__()
        self.E, self.N, self.P, self.Q, self.G, self.H = expand * D, N, P, Q, G, expand * D // P
        conv_dim = self.E + 2 * G * N
        self.in_proj = nn.Linear(D, 2 * self.E + 2 * G * N + self.H, bias=False)
        self.conv1d = nn.Conv1d(conv_dim, conv_dim, W, groups=conv_dim, padding=W - 1)
        self.dt_bias = nn.Parameter(torch.zeros(self.H))
        self.A_log = nn.Parameter(torch.log(torch.empty(self.H).uniform_(1, 16)))
        self.D = nn.Parameter(torch.ones(self.H))
        self.norm_weight = nn.Parameter(torch.ones(self.E))
        self.out_proj = nn.Linear(self.E, D, bias=False)

    def forward(self, u):
        Bsz, T, _ = u.shape
        E, G, N, H, P = self.E, self.G, self.N, self.H, self.P
        z, xBC, dt = torch.split(self.in_proj(u), [E, E + 2 * G * N, H], dim=-1)
        xBC = F.silu(self.conv1d(xBC.transpose(1, 2))[..., :T].transpose(1, 2))
        x, Bm, Cm = torch.split(xBC, [E, G * N, G * N], dim=-1)
        dt = F.softplus(dt + self.dt_bias)
        xh = x.reshape(Bsz, T, H, P)
        y, _ = ssd_chunked(xh.float(), dt.float(), -torch.exp(self.A_log.float()), Bm.reshape(Bsz, T, G, N).float(),
                           Cm.reshape(Bsz, T, G, N).float(), None, self.Q)
        y = (y + xh * self.D[:, None]).reshape(Bsz, T, E)
        g = y * F.silu(z)
        g = g * torch.rsqrt(g.pow(2).mean(-1, keepdim=True) + 1e-5) * self.norm_weight
        return self.out_proj(g.to(u.dtype))


class Mamba2LM(nn.Module):
    def __init__(self, vocab, D, L, N, P, Q):
        super().__init__()
        self.embedding = nn.Embedding(vocab, D)
        self.norms = nn.ModuleList(nn.RMSNorm(D, eps=1e-5) for _ in range(L))
        self.mixers = nn.ModuleList(Mamba2Mixer(D, N, P, Q) for _ in range(L))
        self.norm_f = nn.RMSNorm(D, eps=1e-5)

    def forward(self, ids):
        h = self.embedding(ids)
        for norm, mixer in zip(self.norms, self.mixers):
            h = h + mixer(norm(h))
        return self.norm_f(h) @ self.embedding.weight.t()  # tied head


# ---- timing and the benchmarks -------------------------------------------------------------------------
def median_ms(fn, device, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(repeats, 1)):
        if device.type == "cuda":
            torch.cuda.synchronize()
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            times.append(start.elapsed_time(stop))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def kernel_benchmarks(s, device):
    """(name, shape, bytes, flops, fn) rows, names and work models as in bench/kernels.cpp."""
    rows = []
    n = s["gemm"]
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    shape = f"M{n} N{n} K{n}"

    def gemm(tf32=False, autocast=False, x=a, y=b):
        def run():
            torch.backends.cuda.matmul.allow_tf32 = tf32
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                torch.matmul(x, y)
        return run
    rows.append(("gemm f32 (strict fp32)", shape, 3.0 * n * n * 4, 2.0 * n ** 3, gemm()))
    if device.type == "cuda":
        rows.append(("gemm f32 (tf32 tensor cores)", shape, 3.0 * n * n * 4, 2.0 * n ** 3, gemm(tf32=True)))
        rows.append(("gemm f32 (bf16-mixed)", shape, 3.0 * n * n * 4, 2.0 * n ** 3, gemm(autocast=True)))
        rows.append(("gemm bf16 tensors", shape, 3.0 * n * n * 2, 2.0 * n ** 3, gemm(x=a.bfloat16(), y=b.bfloat16())))
    torch.backends.cuda.matmul.allow_tf32 = False

    Bsz, T, H, P, N, Q, G = s["batch"], s["seqlen"], s["ssd_heads"], s["ssd_headdim"], s["ssd_state"], s["ssd_chunk"], 1
    E = H * P
    x = torch.randn(Bsz, T, H, P, device=device, requires_grad=True)
    dt = (F.softplus(torch.randn(Bsz, T, H, device=device)) * 0.5).requires_grad_()
    A = (-torch.exp(torch.randn(H, device=device) * 0.5)).requires_grad_()
    Bm = torch.randn(Bsz, T, G, N, device=device, requires_grad=True)
    Cm = torch.randn(Bsz, T, G, N, device=device, requires_grad=True)
    h0 = (0.1 * torch.randn(Bsz, H, P, N, device=device)).requires_grad_()
    tokens = float(Bsz * T)
    f_fwd = tokens * (2.0 * E * (Q + 2 * N) + 2.0 * Q * N * G)
    shape = f"B{Bsz} T{T} H{H} P{P} N{N} Q{Q}"

    def ssd_fwd():
        with torch.no_grad():
            ssd_chunked(x, dt, A, Bm, Cm, h0, Q)

    def ssd_fwd_bwd():
        y, hT = ssd_chunked(x, dt, A, Bm, Cm, h0, Q)
        (y.sum() + hT.sum()).backward()
    rows.append(("ssd chunked forward", shape, tokens * 4 * (2.0 * E + 2 * G * N + H), f_fwd, ssd_fwd))
    rows.append(("ssd chunked backward", shape, tokens * 4 * (3.0 * E + 2 * H + 4 * G * N), 2 * f_fwd,
                 ("minus forward", ssd_fwd_bwd, ssd_fwd)))
    # ssmlab's recurrent rows compute the same function; PyTorch's fastest form of it is the chunked
    # one above (a step-by-step loop in Python would not be a fair peer), so it is their peer too.
    rows.append(("ssd recurrent forward", shape, tokens * 4 * (2.0 * E + 2 * G * N + H), f_fwd, ssd_fwd))
    rows.append(("ssd recurrent backward", shape, tokens * 4 * (3.0 * E + 2 * H + 4 * G * N), 2 * f_fwd,
                 ("minus forward", ssd_fwd_bwd, ssd_fwd)))

    R, C, V = s["rows"], s["width"], s["vocab"]
    xr = torch.randn(R, C, device=device, requires_grad=True)
    w = torch.randn(C, device=device, requires_grad=True)
    logits = (2 * torch.randn(R, V, device=device)).requires_grad_()
    targets = torch.arange(R, device=device) * 7919 % V
    rc, rv = float(R * C), float(R * V)

    def rms(x_, w_):
        return x_ * torch.rsqrt(x_.pow(2).mean(-1, keepdim=True) + 1e-5) * w_

    def rms_fwd():
        with torch.no_grad():
            rms(xr, w)

    def rms_fwd_bwd():
        rms(xr, w).backward(torch.ones(R, C, device=device))

    def softmax_fwd():
        with torch.no_grad():
            torch.softmax(logits, -1)

    def ce_fwd():
        with torch.no_grad():
            F.cross_entropy(logits, targets, reduction="none")

    def ce_fwd_bwd():
        F.cross_entropy(logits, targets, reduction="none").sum().backward()
    rows += [("rms_norm forward", f"R{R} C{C}", 4 * (2 * rc + C), 4 * rc, rms_fwd),
             ("rms_norm backward", f"R{R} C{C}", 4 * (3 * rc + C), 8 * rc, ("minus forward", rms_fwd_bwd, rms_fwd)),
             ("softmax forward", f"R{R} V{V}", 4 * 2 * rv, 4 * rv, softmax_fwd),
             ("cross_entropy forward", f"R{R} V{V}", 4 * rv, 3 * rv, ce_fwd),
             ("cross_entropy backward", f"R{R} V{V}", 4 * 2 * rv, 4 * rv, ("minus forward", ce_fwd_bwd, ce_fwd))]
    return rows


def train_benchmarks(s, device, precision):
    """(name, shape, tokens, params, build) rows: build() -> a step function. As bench/train_step.cpp."""
    def pure(vocab, D, L, N, P, Q, batch, seq):
        def build():
            model = Mamba2LM(vocab, D, L, N, P, Q).to(device)
            return model, lambda ids: model(ids)
        return build

    def hf(vocab, D, L, N, P, Q, batch, seq):
        def build():
            from transformers import Mamba2Config, Mamba2ForCausalLM
            cfg = Mamba2Config(vocab_size=vocab, hidden_size=D, num_hidden_layers=L, state_size=N, head_dim=P,
                               num_heads=2 * D // P, expand=2, n_groups=1, chunk_size=Q, conv_kernel=4,
                               tie_word_embeddings=True)
            model = Mamba2ForCausalLM(cfg).to(device)
            return model, lambda ids: model(input_ids=ids).logits
        return build

    D, L, N, P, batch, seq = s["demo"]
    bD, bL, bV, bQ = s["big"]
    specs = [("demo model (mamba2_s128)", 258, D, L, N, P, 64, batch, seq),
             (f"mamba2 ({s['big_label']}), 2K", bV, bD, bL, 128, 64, bQ, *s["run_2k"]),
             (f"mamba2 ({s['big_label']}), 8K", bV, bD, bL, 128, 64, bQ, *s["run_8k"])]
    rows = []
    for label, vocab, D_, L_, N_, P_, Q_, B_, T_ in specs:
        shape = f"D{D_} L{L_} N{N_} P{P_} B{B_} T{T_}"
        rows.append(("train step: " + label, shape, B_ * T_, vocab, pure(vocab, D_, L_, N_, P_, Q_, B_, T_)))
        try:
            import transformers  # noqa: F401
            rows.append(("train step (transformers Mamba2): " + label, shape, B_ * T_, vocab,
                         hf(vocab, D_, L_, N_, P_, Q_, B_, T_)))
        except ImportError:
            pass
    return rows


def scaling_benchmarks(s):
    """(name, group, vocab, D, L, N, P, Q, T) rows, as scaling_benchmarks in bench/train_step.cpp (batch 1)."""
    def k(n):
        return f"{n // 1024}K" if n >= 1024 else str(n)
    D, L, N, P, _, _ = s["demo"]
    bD, bL, bV, bQ = s["big"]
    lengths, T = s["scaling"]
    rows = [(f"scaling T: demo model, T{k(t)}", "length", 258, D, L, N, P, 64, t) for t in lengths]
    rows += [(f"scaling model: demo model, T{k(T)}", "model", 258, D, L, N, P, 64, T),
             (f"scaling model: mamba2 ({s['big_label']}), T{k(T)}", "model", bV, bD, bL, 128, 64, bQ, T),
             (f"scaling model: mamba2-130m shape, T{k(T)}", "model", 50277, 768, 24, 128, 64, 256, T)]
    return rows


def make_step(build, vocab, batch, seq, device, precision):
    model, forward = build()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1, betas=(0.9, 0.95))
    ids = (torch.arange(batch * (seq + 1), device=device) * 2654435761 % vocab).reshape(batch, seq + 1)
    inputs, targets = ids[:, :-1], ids[:, 1:]

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = forward(inputs)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return step, sum(p.numel() for p in model.parameters())


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_gib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 2 ** 30
    except OSError:
        pass
    return float("nan")


def eval_benchmarks(s, device):
    """(name, shape, tokens, run) rows of transformers' Mamba2ForCausalLM, as bench/eval_step.cpp."""
    from transformers import Mamba2Config, Mamba2ForCausalLM

    def model_of(vocab, D, L, N, P, Q):
        cfg = Mamba2Config(vocab_size=vocab, hidden_size=D, num_hidden_layers=L, state_size=N, head_dim=P,
                           num_heads=2 * D // P, expand=2, n_groups=1, chunk_size=Q, conv_kernel=4,
                           tie_word_embeddings=True)
        return Mamba2ForCausalLM(cfg).to(device).eval()

    def stream(model, vocab, tokens):
        ids = (torch.arange(tokens, device=device) * 2654435761 % vocab).reshape(1, tokens)

        def run():
            with torch.no_grad():
                cache = None
                for t in range(0, tokens, 2048):
                    cache = model(input_ids=ids[:, t:t + 2048], cache=cache, use_cache=True).cache
        return run

    def decode(model, vocab, steps):
        ids = (torch.arange(steps, device=device) * 2654435761 % vocab).reshape(1, steps)

        def run():
            with torch.no_grad():
                cache = None
                for t in range(steps):
                    cache = model(input_ids=ids[:, t:t + 1], cache=cache, use_cache=True).cache
        return run

    def k(n):
        return f"{n // 1024}K" if n >= 1024 else str(n)
    D, L, N, P, _, _ = s["demo"]
    bD, bL, bV, bQ = s["big"]
    short, long_, big = s["stream"]
    steps, steps_big = s["decode"]
    demo = model_of(258, D, L, N, P, 64)
    large = model_of(bV, bD, bL, 128, 64, bQ)
    return [(f"eval stream: demo model, {k(short)}", f"D{D} L{L} N{N}", short, stream(demo, 258, short)),
            (f"eval stream: demo model, {k(long_)}", f"D{D} L{L} N{N}", long_, stream(demo, 258, long_)),
            ("eval decode step: demo model", f"D{D} L{L} N{N}", steps, decode(demo, 258, steps)),
            (f"eval stream: mamba2 ({s['big_label']}), {k(big)}", f"D{bD} L{bL} N128", big, stream(large, bV, big)),
            (f"eval decode step: mamba2 ({s['big_label']})", f"D{bD} L{bL} N128", steps_big,
             decode(large, bV, steps_big))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--preset", help="full, small or tiny (default: full on cuda, small on cpu)")
    ap.add_argument("--precision", choices=["fp32", "tf32", "bf16"], help="training matmuls (default: bf16 on cuda)")
    ap.add_argument("--only", choices=["all", "kernels", "train", "eval", "scaling"], default="all",
                    help="scaling is not part of all (long on a CPU)")
    ap.add_argument("--repeats", type=int)
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--ssmlab", help="ssmlab bench --json output: adds the ssmlab time and the ratio")
    ap.add_argument("--json", help="also write these results here")
    ap.add_argument("--self-test", action="store_true", help="check the SSD reference against the recurrence")
    args = ap.parse_args()
    if args.self_test:
        self_test()
        return
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("torch_peer.py: no CUDA GPU is visible to PyTorch; use --device cpu")
    s = PRESETS[args.preset or ("full" if device.type == "cuda" else "small")]
    warmup = args.warmup if args.warmup is not None else s["warmup"]
    repeats = args.repeats or s["repeats"]
    precision = args.precision or ("bf16" if device.type == "cuda" else "fp32")
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    ours = {}
    if args.ssmlab:
        with open(args.ssmlab) as f:
            report = json.load(f)
        ours = {r["name"]: r["ms"] for r in
                report["kernels"] + report["train"] + report.get("eval", []) + report.get("scaling", [])}
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"torch_peer.py on {device}: {name}; torch {torch.__version__}; preset {args.preset or 'default'}; "
          f"median of {repeats} after {warmup} warm-up runs")
    print("ratio = PyTorch time / ssmlab time (above 1: ssmlab is faster)\n")
    results = {"device": name, "torch": torch.__version__, "kernels": [], "train": [], "eval": [], "scaling": []}

    def ratio(row_name, ms):
        return f"{ms / ours[row_name]:8.2f}x" if row_name in ours else "        -"
    if args.only in ("all", "kernels"):
        print(f"{'kernel':<30} {'shape':<34} {'ms':>10} {'GB/s':>9} {'TFLOP/s':>9} {'ssmlab ms':>10} {'ratio':>9}")
        for row_name, shape, nbytes, flops, fn in kernel_benchmarks(s, device):
            if isinstance(fn, tuple):  # a backward: (forward + backward) - forward
                ms = max(median_ms(fn[1], device, warmup, repeats) - median_ms(fn[2], device, warmup, repeats), 1e-6)
            else:
                ms = median_ms(fn, device, warmup, repeats)
            ssm_ms = f"{ours[row_name]:10.3f}" if row_name in ours else f"{'-':>10}"
            print(f"{row_name:<30} {shape:<34} {ms:10.3f} {nbytes / ms / 1e6:9.1f} {flops / ms / 1e9:9.3f} "
                  f"{ssm_ms} {ratio(row_name, ms)}", flush=True)
            results["kernels"].append({"name": row_name, "shape": shape, "ms": ms})
        print()
    if args.only in ("all", "train"):
        tw = args.warmup if args.warmup is not None else s["train_warmup"]
        tr = args.repeats or s["train_repeats"]
        print(f"{'training step, matmuls ' + precision:<66} {'shape':<28} {'ms/step':>10} {'tokens/s':>10} "
              f"{'ssmlab ms':>10} {'ratio':>9}")
        for row_name, shape, tokens, vocab, build in train_benchmarks(s, device, precision):
            batch, seq = (int(v[1:]) for v in shape.split()[-2:])
            try:
                step, params = make_step(build, vocab, batch, seq, device, precision)
                reset_peak_rss()
                ms = median_ms(step, device, tw, tr)
                peak = peak_rss_gib() if device.type == "cpu" else float("nan")
            except Exception as e:  # e.g. out of memory for transformers' torch path at 8K
                print(f"{row_name:<66} {shape:<28} failed: {type(e).__name__}: {str(e).splitlines()[0][:80]}")
                continue
            ssm_ms = f"{ours[row_name]:10.2f}" if row_name in ours else f"{'-':>10}"
            print(f"{row_name:<66} {shape:<28} {ms:10.2f} {tokens / ms * 1e3:10.0f} {ssm_ms} {ratio(row_name, ms)}",
                  flush=True)
            results["train"].append({"name": row_name, "shape": shape, "ms": ms, "params": params,
                                     "tokens_per_s": tokens / ms * 1e3, "peak_rss_gib": peak})
    if args.only in ("all", "eval"):
        tw = args.warmup if args.warmup is not None else s["train_warmup"]
        tr = args.repeats or s["train_repeats"]
        print(f"\n{'evaluation (transformers Mamba2, no_grad)':<44} {'shape':<20} {'ms':>10} {'tokens/s':>10} "
              f"{'peak RSS GiB':>12} {'ssmlab ms':>10} {'ratio':>9}")
        try:
            rows = eval_benchmarks(s, device)
        except ImportError:
            rows = []
            print("transformers is not installed: no evaluation rows")
        for row_name, shape, tokens, run in rows:
            reset_peak_rss()
            ms = median_ms(run, device, tw, tr)
            peak = peak_rss_gib() if device.type == "cpu" else float("nan")
            ssm_ms = f"{ours[row_name]:10.1f}" if row_name in ours else f"{'-':>10}"
            print(f"{row_name:<44} {shape:<20} {ms:10.1f} {tokens / ms * 1e3:10.0f} {peak:12.2f} {ssm_ms} "
                  f"{ratio(row_name, ms)}", flush=True)
            results["eval"].append({"name": row_name, "shape": shape, "ms": ms, "tokens_per_s": tokens / ms * 1e3,
                                    "peak_rss_gib": peak})
    if args.only == "scaling":
        tw = args.warmup if args.warmup is not None else s["train_warmup"]
        tr = args.repeats or s["train_repeats"]
        print(f"{'scaling (pure PyTorch Mamba-2 training step, batch 1)':<56} {'ms/step':>10} {'us/token':>10} "
              f"{'x first':>8} {'ssmlab ms':>10} {'ratio':>9}")
        first = {}
        for row_name, group, vocab, D_, L_, N_, P_, Q_, T_ in scaling_benchmarks(s):
            def build(vocab=vocab, D_=D_, L_=L_, N_=N_, P_=P_, Q_=Q_):
                model = Mamba2LM(vocab, D_, L_, N_, P_, Q_).to(device)
                return model, lambda ids: model(ids)
            step, params = make_step(build, vocab, 1, T_, device, precision)
            ms = median_ms(step, device, tw, tr)
            us = ms * 1e3 / T_
            base = first.setdefault(group, us)
            ssm_ms = f"{ours[row_name]:10.1f}" if row_name in ours else f"{'-':>10}"
            print(f"{row_name:<56} {ms:10.1f} {us:10.2f} {us / base:8.2f} {ssm_ms} {ratio(row_name, ms)}", flush=True)
            results["scaling"].append({"name": row_name, "shape": f"D{D_} L{L_} B1 T{T_}", "group": group, "ms": ms,
                                       "us_per_token": us, "params": params})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
