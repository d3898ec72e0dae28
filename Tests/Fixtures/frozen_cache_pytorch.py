#!/usr/bin/env python3
"""PyTorch's time for the feature-cache pass of a frozen text experiment (issue 12, item 3).

The pass `sidenet run` makes once per frozen text experiment: every sentence of the SST pool
(train + dev + test, 9,613 in the paper split) through the whole encoder in eval mode, in
batches of `evaluation.batch_size` sentences sorted by token count (as the runner's
`PreparedData.featureOrder`: dynamic padding to the longest sentence of each batch). The model
is built from the experiment's config.json with random weights (the timing does not depend
on their values). Prints tokens, padded tokens, the encoder's matmul GFLOP (the floor at a
given FMA rate), and the process CPU time and wall time of the forward passes.

Usage (the reference environment, 2 threads like `sidenet run --threads 2`):
  /tmp/ref/bin/python Tests/Fixtures/frozen_cache_pytorch.py --config weights/bert-large-uncased/config.json \
      --vocab weights/bert-large-uncased/vocab.txt --sst data/sst --batch 128 --threads 2 [--every 8]
`--every k` times every k-th batch only (a sample spread over all lengths) and scales the
totals by the sampled share of FLOPs; the output says so.
"""
import argparse
import json
import os
import time

import torch
from transformers import BertConfig, BertModel, BertTokenizer, DistilBertConfig, DistilBertModel


def sentences(folder):
    out = []
    for split in ("train", "dev", "test"):
        path = os.path.join(folder, f"stsa.binary.{split}")
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.strip():
                    out.append(line.split(" ", 1)[1] if " " in line else "")
    return out


def encoder_flops(cfg, lengths):
    """Multiply-add FLOPs (2 per MAC) of the encoder layers for padded batches (lengths per batch)."""
    d = cfg["hidden_size"] if "hidden_size" in cfg else cfg["dim"]
    inter = cfg.get("intermediate_size", cfg.get("hidden_dim"))
    layers = cfg.get("num_hidden_layers", cfg.get("n_layers"))
    total = 0
    for b, t in lengths:
        per_layer = 4 * t * d * d + 2 * t * d * inter + 2 * t * t * d
        total += 2 * b * layers * per_layer
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--vocab", required=True)
    ap.add_argument("--sst", required=True)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--every", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(a.config) as f:
        cfg = json.load(f)
    if cfg.get("model_type") == "distilbert":
        model = DistilBertModel(DistilBertConfig(**cfg))
    else:
        model = BertModel(BertConfig(**cfg), add_pooling_layer=False)
    model.eval()
    tok = BertTokenizer(a.vocab, do_lower_case=True)
    ids = [tok.encode(s, truncation=True, max_length=a.max_length) for s in sentences(a.sst)]
    order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), i))
    batches = [order[s:s + a.batch] for s in range(0, len(order), a.batch)]
    shapes = [(len(b), max(len(ids[i]) for i in b)) for b in batches]
    all_flops = encoder_flops(cfg, shapes)
    timed = list(range(0, len(batches), a.every))
    timed_flops = encoder_flops(cfg, [shapes[i] for i in timed])
    c0, w0 = time.process_time(), time.perf_counter()
    with torch.inference_mode():
        for bi in timed:
            b = batches[bi]
            t = shapes[bi][1]
            x = torch.zeros(len(b), t, dtype=torch.long)
            m = torch.zeros(len(b), t, dtype=torch.long)
            for r, i in enumerate(b):
                x[r, :len(ids[i])] = torch.tensor(ids[i])
                m[r, :len(ids[i])] = 1
            model(input_ids=x, attention_mask=m)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    tokens = sum(len(i) for i in ids)
    padded = sum(b * t for b, t in shapes)
    scale = all_flops / timed_flops
    print(f"sentences {len(ids)}, tokens {tokens} (mean {tokens / len(ids):.1f}), padded tokens {padded}, "
          f"batches {len(batches)} of {a.batch}")
    print(f"encoder GFLOP {all_flops / 1e9:.0f}; floor at 198 GFLOP/s: {all_flops / 198e9:.0f} s")
    sample = "" if a.every == 1 else f" (timed every {a.every}th batch: {len(timed)} batches, totals scaled by FLOP share x{scale:.2f})"
    print(f"PyTorch {torch.__version__}, {a.threads} threads: CPU {cpu * scale:.1f} s, wall {wall * scale:.1f} s, "
          f"{timed_flops / 1e9 / wall:.1f} GFLOP/s wall, {timed_flops / 1e9 / cpu * a.threads:.1f} GFLOP/s per {a.threads} busy cores{sample}")


if __name__ == "__main__":
    main()
