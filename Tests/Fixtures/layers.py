"""PyTorch reference outputs and gradients for every layer in Sources/Layers.

One safetensors file per case in Tests/Fixtures/layers/. Each holds the inputs (x, dy = the
upstream gradient, parameters as given to the layer), the outputs (y) and the gradients
(dx, d<param>). Integer ids are stored as F32. Small shapes, fixed seeds: deterministic.
Run: /tmp/ref/bin/python Tests/Fixtures/make_fixtures.py layers
"""
import math
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file


def _save(out_dir, name, tensors):
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in tensors.items()}
    save_file(tensors, os.path.join(out_dir, name + ".safetensors"))


def _grad_case(out_dir, name, fn, inputs, params, dy_seed):
    """fn(*inputs, **params) -> y; records y, dy, dx_i, d<param>."""
    ins = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    ps = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    y = fn(**ins, **ps)
    g = torch.Generator().manual_seed(dy_seed)
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    rec = {"y": y, "dy": dy}
    for k, v in ins.items():
        rec[k] = v
        rec["d" + k] = v.grad
    for k, v in ps.items():
        rec[k] = v
        rec["d" + k] = v.grad
    return rec


def main(out_dir):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    r = lambda *s: torch.randn(*s)

    # Linear, with leading dims [2, 3].
    for name, bias in [("linear", True), ("linear_nobias", False)]:
        params = {"weight": r(4, 5)}
        if bias:
            params["bias"] = r(4)
        _save(out_dir, name, _grad_case(out_dir, name, lambda x, weight, bias=None: F.linear(x, weight, bias),
                                        {"x": r(2, 3, 5)}, params, 1))

    # Conv2d: odd shapes; config = [stride, padding].
    conv_cases = [
        ("conv_k3s1p1_bias", 2, 5, 6, 7, 4, 3, 1, 1, True),
        ("conv_k3s2p1", 3, 3, 9, 8, 5, 3, 2, 1, False),
        ("conv_k7s2p3", 2, 3, 11, 10, 4, 7, 2, 3, False),
        ("conv_k1s2p0_bias", 2, 6, 7, 7, 3, 1, 2, 0, True),
        ("conv_k1s1p0", 2, 5, 4, 3, 6, 1, 1, 0, False),
    ]
    for name, n, c, h, w, o, k, s, p, bias in conv_cases:
        params = {"weight": r(o, c, k, k)}
        if bias:
            params["bias"] = r(o)
        rec = _grad_case(out_dir, name, lambda x, weight, bias=None: F.conv2d(x, weight, bias, stride=s, padding=p),
                         {"x": r(n, c, h, w)}, params, 2)
        rec["config"] = torch.tensor([s, p], dtype=torch.float32)
        _save(out_dir, name, rec)

    # BatchNorm: train (batch stats, running-stat update) and eval, 2d and 1d.
    for name, shape, eps in [("batchnorm2d", (4, 3, 5, 5), 1e-5), ("batchnorm1d", (6, 4), 1e-3)]:
        c = shape[1]
        x = r(*shape) * 2 + 0.5
        weight, bias = r(c), r(c)
        rm, rv = r(c) * 0.1, torch.rand(c) + 0.5
        for mode in ["train", "eval"]:
            bn = torch.nn.BatchNorm1d(c, eps=eps) if len(shape) == 2 else torch.nn.BatchNorm2d(c, eps=eps)
            with torch.no_grad():
                bn.weight.copy_(weight); bn.bias.copy_(bias)
                bn.running_mean.copy_(rm); bn.running_var.copy_(rv)
                bn.num_batches_tracked.fill_(3)
            bn.train(mode == "train")
            xi = x.clone().requires_grad_(True)
            y = bn(xi)
            dy = torch.randn(y.shape, generator=torch.Generator().manual_seed(3))
            y.backward(dy)
            _save(out_dir, f"{name}_{mode}", {
                "x": x, "weight": weight, "bias": bias, "running_mean": rm, "running_var": rv,
                "eps": torch.tensor([eps]), "y": y, "dy": dy, "dx": xi.grad,
                "dweight": bn.weight.grad, "dbias": bn.bias.grad,
                "running_mean_after": bn.running_mean, "running_var_after": bn.running_var,
                "num_batches_tracked_after": bn.num_batches_tracked.float().reshape([]),
            })

    # Elementwise activations and softmax.
    x = r(3, 7) * 2
    x[0, 0] = 0.0
    for name, fn in [("relu", torch.relu), ("tanh", torch.tanh), ("gelu", lambda t: F.gelu(t)),
                     ("softmax", lambda t: torch.softmax(t, dim=-1))]:
        _save(out_dir, name, _grad_case(out_dir, name, lambda x: fn(x), {"x": x}, {}, 4))

    # Pooling; config = [kernel, stride, padding].
    for name, shape, k, s, p in [("maxpool_k3s2p1", (2, 3, 9, 8), 3, 2, 1), ("maxpool_k2s2p0", (1, 2, 6, 7), 2, 2, 0),
                                 ("maxpool_k3s1p1", (1, 2, 5, 5), 3, 1, 1)]:
        rec = _grad_case(out_dir, name, lambda x: F.max_pool2d(x, k, s, p), {"x": r(*shape)}, {}, 5)
        rec["config"] = torch.tensor([k, s, p], dtype=torch.float32)
        _save(out_dir, name, rec)
    _save(out_dir, "avgpool", _grad_case(out_dir, "avgpool", lambda x: F.adaptive_avg_pool2d(x, 1),
                                         {"x": r(2, 3, 5, 4)}, {}, 6))

    # Embedding: ids stored as F32.
    ids = torch.tensor([[1, 4, 4, 0, 6], [2, 2, 6, 5, 1]])
    emb_w = r(7, 3).requires_grad_(True)
    y = F.embedding(ids, emb_w)
    dy = torch.randn(y.shape, generator=torch.Generator().manual_seed(7))
    y.backward(dy)
    _save(out_dir, "embedding", {"ids": ids.float(), "weight": emb_w, "y": y, "dy": dy, "dweight": emb_w.grad})

    # LayerNorm over the last dim; config = [eps].
    for name, eps in [("layernorm", 1e-5), ("layernorm_bert", 1e-12)]:
        rec = _grad_case(out_dir, name, lambda x, weight, bias: F.layer_norm(x, (8,), weight, bias, eps),
                         {"x": r(2, 3, 8) * 3 + 1}, {"weight": r(8), "bias": r(8)}, 8)
        rec["config"] = torch.tensor([eps], dtype=torch.float32)
        _save(out_dir, name, rec)

    # Attention (HF eager BERT math): scores + (1 - mask)·finfo.min, softmax, P v.
    B, T, D, H = 2, 5, 8, 2
    hd = D // H
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.float32)

    def sdpa(q, k, v):
        split = lambda t: t.view(B, T, H, hd).transpose(1, 2)
        s = split(q) @ split(k).transpose(-1, -2) / math.sqrt(hd)
        s = s + (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
        return (torch.softmax(s, dim=-1) @ split(v)).transpose(1, 2).reshape(B, T, D)

    rec = _grad_case(out_dir, "sdpa", sdpa, {"q": r(B, T, D), "k": r(B, T, D), "v": r(B, T, D)}, {}, 9)
    rec["mask"] = mask
    _save(out_dir, "sdpa", rec)

    def mhsa(x, qw, qb, kw, kb, vw, vb, ow, ob):
        return F.linear(sdpa(F.linear(x, qw, qb), F.linear(x, kw, kb), F.linear(x, vw, vb)), ow, ob)

    bound = 1 / math.sqrt(D)
    ps = {n: (torch.rand(D, D) * 2 - 1) * bound if n.endswith("w") else (torch.rand(D) * 2 - 1) * bound
          for n in ["qw", "qb", "kw", "kb", "vw", "vb", "ow", "ob"]}
    rec = _grad_case(out_dir, "mhsa", mhsa, {"x": r(B, T, D)}, ps, 10)
    rec["mask"] = mask
    _save(out_dir, "mhsa", rec)

    # Losses.
    logits = r(5, 4) * 3
    logits[0] = torch.tensor([80.0, -80.0, 0.0, 1.0])  # stability
    labels = torch.tensor([0, 3, 1, 1, 2])
    li = logits.clone().requires_grad_(True)
    loss = F.cross_entropy(li, labels)
    loss.backward()
    _save(out_dir, "cross_entropy", {"logits": logits, "labels": labels.float(), "loss": loss.reshape([1]), "dlogits": li.grad})
    logits = torch.tensor([0.3, -2.0, 40.0, -40.0, 5.0, -0.7])
    targets = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.25, 1.0])
    li = logits.clone().requires_grad_(True)
    loss = F.binary_cross_entropy_with_logits(li, targets)
    loss.backward()
    _save(out_dir, "bce_with_logits", {"logits": logits, "targets": targets, "loss": loss.reshape([1]), "dlogits": li.grad})
