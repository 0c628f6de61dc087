# scripts/golden/golden_common.py — what every golden fixture shares: running reference code in
# float64, seeded perturbation of reference inits, the loss / gradient / SGD / finite-difference
# pipeline, and writing a fixture directory in the format described in scripts/golden/README.md.
#
# Not for: anything architecture-specific (see golden_mamba.py, golden_rwkv.py, golden_hgrn2.py).

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch.utils._python_dispatch import TorchDispatchMode

MAGIC = "ssmlab-golden"
FORMAT_VERSION = "1"
GENERATOR = "scripts/golden/make_golden.py"
BATCH, SEQ_LEN = 2, 37
SGD_LR = 0.5
SGD_STEPS = 4


class KeepFloat64(TorchDispatchMode):
    """Runs reference code in float64 although it casts to float32 on purpose.

    The references keep norms, scans and residuals in fp32 via .float(), .to(torch.float32),
    softmax(dtype=torch.float) or factories with dtype=torch.float32. Upcasting the model alone
    would therefore still round through fp32 at those points. At the aten level every one of these
    is an op with a dtype=float32 argument; this mode rewrites that argument to float64 and then
    refuses any op that still produces a float32 tensor, so a forward/backward that completes
    under it ran in float64 throughout (the math is unchanged, only the precision).
    """

    def __init__(self) -> None:
        super().__init__()
        self.rewritten_ops: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if kwargs.get("dtype") == torch.float32:
            kwargs["dtype"] = torch.float64
            self.rewritten_ops.add(str(func))
        out = func(*args, **kwargs)
        for t in torch.utils._pytree.tree_leaves(out):
            if isinstance(t, torch.Tensor) and t.dtype in (torch.float32, torch.float16, torch.bfloat16):
                raise RuntimeError(f"KeepFloat64: {func} produced a {t.dtype} tensor")
        return out


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def perturb_(t: torch.Tensor, gen: torch.Generator, rel: float = 0.1, floor: float = 0.02) -> None:
    """t += N(0, s²) with s = max(rel·rms(t), floor): zero or constant inits become informative."""
    with torch.no_grad():
        s = max(rel * t.float().pow(2).mean().sqrt().item(), floor)
        t.add_(torch.randn(t.shape, generator=gen, dtype=t.dtype) * s)


def random_ids(vocab: int, seed: int) -> torch.Tensor:
    return torch.randint(0, vocab, (BATCH, SEQ_LEN), generator=generator(seed), dtype=torch.int64)


def next_token_loss(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of logits[:, :-1] against ids[:, 1:] (B·(T−1) targets)."""
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))


@dataclass
class Runner:
    """A reference model bound to float64 leaf parameters under their checkpoint names."""
    params: dict[str, torch.Tensor]                       # name -> f64 leaf (requires_grad)
    logits: Callable[[torch.Tensor], torch.Tensor]        # ids (B,T) -> logits (B,T,V) f64
    final_states: Callable[[torch.Tensor], dict[str, torch.Tensor]] = lambda ids: {}
    model: torch.nn.Module | None = None                  # the reference module, when there is one


@dataclass
class Fixture:
    """Everything an architecture module hands to the writer."""
    arch: str
    config: dict                                          # the config.json contents
    weights: dict[str, torch.Tensor]                      # checkpoint names -> float32
    make_runner: Callable[[dict[str, torch.Tensor]], Runner]  # f32 weights -> f64 runner
    reference: str
    metadata: dict[str, str] = field(default_factory=dict)
    crosscheck: Callable[[dict[str, torch.Tensor], torch.Tensor], dict[str, str]] | None = None
    self_checks: Callable[[], dict[str, str]] | None = None


def _zero_grads(params: dict[str, torch.Tensor]) -> None:
    for p in params.values():
        p.grad = None


def loss_and_grads(runner: Runner, ids: torch.Tensor):
    _zero_grads(runner.params)
    with KeepFloat64() as mode:
        logits = runner.logits(ids)
        loss = next_token_loss(logits, ids)
        loss.backward()
    grads = {}
    for name, p in runner.params.items():
        if p.grad is None:
            raise RuntimeError(f"{name}: no gradient reached this parameter")
        grads[name] = p.grad.detach().clone()
    return logits.detach(), loss.detach(), grads, sorted(mode.rewritten_ops)


def sgd_losses(make_runner, weights, ids, lr: float = SGD_LR, steps: int = SGD_STEPS) -> torch.Tensor:
    """Loss before each of `steps` plain SGD steps p -= lr·grad, from the saved weights."""
    runner = make_runner(weights)
    out = []
    for _ in range(steps):
        _, loss, grads, _ = loss_and_grads(runner, ids)
        out.append(loss.item())
        with torch.no_grad():
            for name, p in runner.params.items():
                p -= lr * grads[name]
    return torch.tensor(out, dtype=torch.float64)


def finite_difference_check(runner: Runner, ids: torch.Tensor, grads: dict[str, torch.Tensor],
                            seed: int, eps: float = 3e-5, tol: float = 1e-5) -> float:
    """Worst relative error of ⟨grad, d⟩ against finite differences along a random d, per tensor.

    Central differences at eps and eps/2 combined by Richardson extrapolation (error O(eps⁴)).
    A single float32 rounding anywhere in the forward shows up here as an error near 1e-2, a
    correct float64 gradient as one near 1e-9 (relu² in the RWKV channel mix is not C², so
    differences that cross its kink converge more slowly than O(eps⁴)).
    """
    gen = generator(seed)
    worst = 0.0

    def loss_at(p, shift):
        with torch.no_grad(), KeepFloat64():
            p += shift
            value = next_token_loss(runner.logits(ids), ids).item()
            p -= shift
        return value

    for name, p in runner.params.items():
        d = torch.randn(p.shape, generator=gen, dtype=torch.float64)
        central = [(loss_at(p, h * d) - loss_at(p, -h * d)) / (2 * h) for h in (eps, eps / 2)]
        fd = (4 * central[1] - central[0]) / 3
        an = (grads[name] * d).sum().item()
        err = abs(fd - an) / max(abs(an), 1e-3)
        worst = max(worst, err)
        if err > tol:
            raise RuntimeError(f"{name}: finite difference {fd:.12g} vs autograd {an:.12g} (rel {err:.2e})")
    return worst


def hf_config_json(cfg) -> dict:
    """config.json exactly as save_pretrained writes it for a checkpoint directory."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        cfg.save_pretrained(tmp)
        with open(os.path.join(tmp, "config.json")) as f:
            return json.load(f)


_ST_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def save_safetensors(tensors: dict[str, torch.Tensor], path: str, metadata: dict[str, str]) -> None:
    """A safetensors file with a byte-for-byte reproducible header.

    safetensors.torch.save_file writes __metadata__ in hash order, which changes from run to run;
    here names and metadata keys are sorted, so regenerating unchanged fixtures changes no bytes.
    Tensors are laid out widest dtype first, so each one is aligned for its dtype.
    The result is read back with the safetensors package and compared before it is kept.
    """
    header: dict = {"__metadata__": dict(sorted(metadata.items()))}
    blobs, offset = [], 0
    for name in sorted(tensors, key=lambda n: (-tensors[n].element_size(), n)):
        t = tensors[name].detach().contiguous()
        blob = t.numpy().tobytes()             # little-endian on every supported host
        header[name] = {"dtype": _ST_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    back = load_file(path)
    if set(back) != set(tensors) or any(not torch.equal(back[k], tensors[k]) for k in tensors):
        raise RuntimeError(f"{path}: safetensors read-back differs")


def load_weights_f32(path: str) -> dict[str, torch.Tensor]:
    w = load_file(path)
    for name, t in w.items():
        if t.dtype != torch.float32:
            raise RuntimeError(f"{path}: {name} is {t.dtype}, expected float32")
    return w


def package_versions() -> str:
    import importlib.metadata as md
    parts = []
    for pkg in ("torch", "transformers", "safetensors", "numpy", "rwkv", "flash-linear-attention", "fla-core"):
        try:
            parts.append(f"{pkg}=={md.version(pkg)}")
        except md.PackageNotFoundError:
            pass
    return ", ".join(parts)


def write_fixture(fx: Fixture, out_root: str, seed: int) -> dict[str, str]:
    """Writes <out_root>/<arch>/{model.safetensors,config.json,golden.safetensors}; returns a summary."""
    d = os.path.join(out_root, fx.arch)
    os.makedirs(d, exist_ok=True)
    model_path = os.path.join(d, "model.safetensors")
    save_safetensors(fx.weights, model_path, metadata={"format": "pt"})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(fx.config, f, indent=2, sort_keys=True)
        f.write("\n")

    weights = load_weights_f32(model_path)   # everything below starts from the saved float32 file
    vocab = int(fx.config.get("vocab_size"))
    ids = random_ids(vocab, seed + 1)
    runner = fx.make_runner(weights)
    if set(runner.params) != set(weights):
        raise RuntimeError(f"{fx.arch}: runner parameters {sorted(set(runner.params) ^ set(weights))} "
                           "differ from the saved tensors")
    logits, loss, grads, rewritten = loss_and_grads(runner, ids)
    if logits.shape[:2] != (BATCH, SEQ_LEN):
        raise RuntimeError(f"{fx.arch}: logits shape {tuple(logits.shape)}")
    losses = sgd_losses(fx.make_runner, weights, ids)
    if abs(losses[0].item() - loss.item()) > 1e-12:
        raise RuntimeError(f"{fx.arch}: first SGD loss {losses[0].item()} != loss {loss.item()}")
    fd_err = finite_difference_check(runner, ids, grads, seed + 2)
    with torch.no_grad(), KeepFloat64():
        states = runner.final_states(ids)

    summary = {"fd_max_rel_err": f"{fd_err:.3e}", "loss": f"{loss.item():.10f}",
               "sgd_losses": ", ".join(f"{x:.6f}" for x in losses.tolist()),
               "float32_casts_rewritten": ", ".join(rewritten) or "none"}
    if fx.crosscheck is not None:
        summary.update(fx.crosscheck(weights, ids))
    if fx.self_checks is not None:
        summary.update(fx.self_checks())

    tensors = {"input_ids": ids, "logits": logits.to(torch.float64).contiguous(),
               "loss": loss.to(torch.float64).reshape(()), "sgd_losses": losses}
    for name, g in grads.items():
        tensors[f"grad.{name}"] = g.to(torch.float64).contiguous()
    for name, s in states.items():
        tensors[f"final_state.{name}"] = s.detach().to(torch.float64).contiguous()
    meta = {"magic": MAGIC, "format_version": FORMAT_VERSION, "generator": GENERATOR,
            "arch": fx.arch, "reference": fx.reference, "sgd_lr": repr(SGD_LR),
            "sgd_steps": str(SGD_STEPS), "dtype": "float64", "seed": str(seed),
            "batch": str(BATCH), "seq_len": str(SEQ_LEN), "logits_width": str(logits.shape[-1]),
            "loss": "mean cross-entropy of logits[:, :-1] against input_ids[:, 1:]",
            "packages": package_versions(),
            "float64": "weights loaded from model.safetensors (float32) and upcast; every fp32 cast "
                       "inside the reference rewritten to float64 at the aten level (KeepFloat64)"}
    meta.update(fx.metadata)
    meta.update({f"check.{k}": v for k, v in summary.items()})
    save_safetensors(tensors, os.path.join(d, "golden.safetensors"), metadata=meta)
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    summary["dir_bytes"] = str(size)
    return summary
