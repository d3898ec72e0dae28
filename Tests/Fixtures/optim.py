"""Reference fixtures for the Optim module (torch.optim.Adam, ReduceLROnPlateau).

Writes Tests/Fixtures/optim/adam.json and plateau.json (plain JSON, small; NaN is written as
null; Double values that must compare exactly are also given as float.hex() strings because
Foundation's JSON number parsing is not always correctly rounded). Called by make_fixtures.py optim.

Adam cases: linear least squares pred = X W^T + b on fixed data, loss = mean((pred - Y)^2).
Gradients are analytic, computed in float64 from the float32 values and cast to float32,
exactly as the Swift test computes them, then handed to torch.optim.Adam (foreach=False,
the CPU single-tensor path). Parameters after every one of 10 steps are recorded.
"""
import json
import math
import os

import numpy as np
import torch

N, D, K = 8, 4, 3
STEPS = 10


def data():
    g = torch.Generator().manual_seed(1234)
    X = torch.randn(N, D, generator=g)
    Y = torch.randn(N, K, generator=g)
    W = torch.randn(K, D, generator=g) * 0.5
    b = torch.randn(K, generator=g) * 0.1
    return X, Y, W, b


def grads(X, Y, W, b):
    """d/dW, d/db of mean((X W^T + b - Y)^2) in float64, cast to float32."""
    x = X.double().numpy(); y = Y.double().numpy(); w = W.detach().double().numpy()
    bb = b.detach().double().numpy()
    r = np.zeros((N, K))
    for n in range(N):
        for k in range(K):
            s = 0.0
            for d in range(D):
                s += x[n, d] * w[k, d]
            r[n, k] = s + bb[k] - y[n, k]
    c = 2.0 / (N * K)
    gw = np.zeros((K, D)); gb = np.zeros(K)
    for k in range(K):
        for d in range(D):
            s = 0.0
            for n in range(N):
                s += r[n, k] * x[n, d]
            gw[k, d] = c * s
        s = 0.0
        for n in range(N):
            s += r[n, k]
        gb[k] = c * s
    return torch.from_numpy(gw).float(), torch.from_numpy(gb).float()


def adam_case(name, lr, betas, eps, wd, freeze_bias, lr_after5=None):
    X, Y, W0, b0 = data()
    W = torch.nn.Parameter(W0.clone())
    b = torch.nn.Parameter(b0.clone(), requires_grad=not freeze_bias)
    opt = torch.optim.Adam([W, b], lr=lr, betas=betas, eps=eps, weight_decay=wd, foreach=False)
    traj = []
    for t in range(STEPS):
        if lr_after5 is not None and t == 5:
            for gr in opt.param_groups:
                gr["lr"] = lr_after5
        gw, gb = grads(X, Y, W, b)
        W.grad = gw
        b.grad = None if freeze_bias else gb
        opt.step()
        traj.append({"weight": W.detach().flatten().tolist(), "bias": b.detach().flatten().tolist()})
    steps = {"weight": int(opt.state[W]["step"].item()),
             "bias": int(opt.state[b]["step"].item()) if b in opt.state else 0}
    return {"name": name, "lr": lr, "betas": list(betas), "eps": eps, "weight_decay": wd,
            "freeze_bias": freeze_bias, "lr_after5": lr_after5, "steps": steps,
            "trajectory": traj}


def losses_a():
    """~40 validation losses: improvements, plateaus, sub-threshold improvements, NaN."""
    seq = [2.0, 1.5, 1.2, 1.1, 1.05]
    best = 1.05
    seq += [best * (1 - 0.5e-4)]            # improvement below rel threshold -> bad
    seq += [1.06, 1.07, best, 1.051]          # plateau -> reduce at 6th bad
    seq += [1.0, 0.9, float("nan"), 0.95, 0.9, 0.9 * (1 - 1e-4), 0.91, 0.92]  # exactly-at-threshold is not better
    seq += [0.8, 0.80001, 0.79999, 0.8, float("nan"), float("nan"), 0.81, 0.82, 0.83]
    seq += [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.4999, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    return seq


def plateau_case(name, losses, lr, **kw):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=lr)
    sch = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    lrs = []
    for m in losses:
        sch.step(m)
        lrs.append(opt.param_groups[0]["lr"])
    return {"name": name, "lr": lr, "options": kw,
            "losses": [None if math.isnan(m) else m for m in losses], "lrs": lrs,
            # exact values: Foundation's JSON number parsing is not always correctly rounded
            "losses_hex": [m.hex() for m in losses], "lrs_hex": [x.hex() for x in lrs],
            "final": {"best": sch.best, "best_hex": float(sch.best).hex(), "num_bad_epochs": sch.num_bad_epochs,
                      "cooldown_counter": sch.cooldown_counter, "last_epoch": sch.last_epoch}}


def main(out_dir):
    torch.manual_seed(0)
    X, Y, W0, b0 = data()
    adam = {
        "X": X.flatten().tolist(), "Y": Y.flatten().tolist(),
        "W0": W0.flatten().tolist(), "b0": b0.flatten().tolist(),
        "N": N, "D": D, "K": K,
        "cases": [
            adam_case("default", 1e-2, (0.9, 0.999), 1e-8, 0.0, False),
            adam_case("wd_frozen_lrchange", 5e-2, (0.8, 0.99), 1e-3, 0.05, True, lr_after5=5e-2 / 3),
            adam_case("small_beta1_wd", 3e-2, (0.3, 0.9), 1e-8, 0.1, False),
        ],
    }
    la = losses_a()
    lb = [1.0, 0.9, 0.9, 0.9, 0.9, 0.89999, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9,
          0.95, float("nan"), 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9,
          0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    plateau = {"cases": [
        plateau_case("paper_p5_f1/3", la, 3e-4, factor=1.0 / 3.0, patience=5),
        plateau_case("cooldown2_minlr", lb, 3e-4, factor=1.0 / 3.0, patience=2, cooldown=2, min_lr=2e-5),
        plateau_case("max_abs", [-m if not math.isnan(m) else m for m in la], 1e-3,
                     mode="max", factor=0.5, patience=3, threshold=1e-3, threshold_mode="abs",
                     min_lr=1e-4, eps=1e-8),
    ]}
    with open(os.path.join(out_dir, "adam.json"), "w") as f:
        json.dump(adam, f, indent=1)
    with open(os.path.join(out_dir, "plateau.json"), "w") as f:
        json.dump(plateau, f, indent=1, allow_nan=False)
    for c in plateau["cases"]:
        print(c["name"], "distinct lrs:", sorted(set(c["lrs"]), reverse=True))
