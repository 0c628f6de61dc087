#!/usr/bin/env python3
"""scripts/convert_checkpoint.py — turn a torch-pickled public checkpoint into the safetensors
directory `ssmlab capacity --model DIR` reads (train/pretrained.h).

Two sources are pickles rather than safetensors, so ssmlab (which does not unpickle) needs this
one-off conversion, done with PyTorch outside ssmlab:

  state-spaces/mamba-*, state-spaces/mamba2-*   DIR/pytorch_model.bin + DIR/config.json
  BlinkDL RWKV-5 / RWKV-6 world models          FILE.pth (no config: sizes are read from shapes)

Tensor names are kept exactly (they are the reference names ssmlab's models use); a tied
lm_head.weight that duplicates the embedding is dropped. Dtypes are kept (bf16/fp16 are upcast
when ssmlab loads them) unless --dtype says otherwise. The tokenizer is copied when given.

  python scripts/convert_checkpoint.py state-spaces/mamba2-370m  out/mamba2-370m \\
      --tokenizer gpt-neox-20b/tokenizer.json
  python scripts/convert_checkpoint.py RWKV-x060-World-1B6-v2.1-20240328-ctx4096.pth out/rwkv6-1b6 \\
      --tokenizer rwkv_vocab_v20230424.txt

Needs: torch, safetensors (pip install torch safetensors).
"""
import argparse
import json
import os
import shutil
import sys

DTYPES = {"keep": None, "float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


def load_state_dict(source):
    import torch
    if os.path.isdir(source):
        for name in ("pytorch_model.bin", "model.pt", "model.pth"):
            path = os.path.join(source, name)
            if os.path.exists(path):
                return torch.load(path, map_location="cpu", weights_only=True), path
        sys.exit(f"{source}: no pytorch_model.bin in the directory")
    if not os.path.exists(source):
        sys.exit(f"{source}: no such file or directory")
    return torch.load(source, map_location="cpu", weights_only=True), source


def rwkv_config(tensors):
    """ssmlab's config.json convention for RWKV, read off the tensor shapes."""
    if "blocks.0.att.time_faaaa" not in tensors or "blocks.0.att.ln_x.weight" not in tensors:
        sys.exit("not an RWKV v5.2/v6 checkpoint (no time_faaaa / ln_x): ssmlab supports x052 and x060")
    v6 = "blocks.0.att.time_maa_x" in tensors
    vocab, n_embd = tensors["emb.weight"].shape
    n_layer = 1 + max(int(k.split(".")[1]) for k in tensors if k.startswith("blocks."))
    config = {
        "architecture": "rwkv6" if v6 else "rwkv5",
        "n_embd": n_embd,
        "n_layer": n_layer,
        "head_size": tensors["blocks.0.att.time_faaaa"].shape[-1],
        "dim_ffn": tensors["blocks.0.ffn.key.weight"].shape[0],
        "vocab_size": vocab,
        "layer_norm_epsilon": 1e-5,
        "group_norm_epsilon": 64e-5,
    }
    if v6:
        config["lora_rank_mix"] = tensors["blocks.0.att.time_maa_w1"].shape[1] // 5
        config["lora_rank_decay"] = tensors["blocks.0.att.time_decay_w1"].shape[1]
    return config


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="a state-spaces checkpoint directory or an RWKV .pth file")
    parser.add_argument("out", help="output directory (created)")
    parser.add_argument("--dtype", choices=DTYPES, default="keep", help="store weights in this dtype")
    parser.add_argument("--tokenizer", help="tokenizer.json or rwkv_vocab_*.txt to copy next to the weights")
    args = parser.parse_args()

    import torch
    from safetensors.torch import save_file

    tensors, path = load_state_dict(args.source)
    if "model" in tensors and isinstance(tensors["model"], dict):
        tensors = tensors["model"]  # some trainers nest the weights
    if DTYPES[args.dtype]:
        target = getattr(torch, DTYPES[args.dtype])
        tensors = {k: v.to(target) if v.is_floating_point() else v for k, v in tensors.items()}

    os.makedirs(args.out, exist_ok=True)
    if os.path.isdir(args.source):
        with open(os.path.join(args.source, "config.json")) as f:
            config = json.load(f)
        embedding = tensors.get("backbone.embedding.weight")
        head = tensors.get("lm_head.weight")
        if head is not None and embedding is not None and torch.equal(head, embedding):
            del tensors["lm_head.weight"]  # tied: the same storage saved twice
    else:
        config = rwkv_config(tensors)
    # safetensors refuses shared or non-contiguous storage: give every tensor its own copy.
    tensors = {k: v.contiguous().clone() for k, v in tensors.items()}
    save_file(tensors, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt", "source": path})
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if args.tokenizer:
        shutil.copy(args.tokenizer, args.out)
    count = sum(v.numel() for v in tensors.values())
    print(f"{args.out}: {len(tensors)} tensors, {count:,} parameters")


if __name__ == "__main__":
    main()
