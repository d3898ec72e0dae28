#!/usr/bin/env python3
"""sidenet / PyTorch throughput ratios from the logs of bench_side_by_side.sh (standard library only).

    python3 Tests/Fixtures/bench_ratios.py OUTDIR

Reads OUTDIR/round-N/{sidenet,pytorch}-MODEL.log, prints every workload's ratio per round (PyTorch's
best of its layouts), the median over rounds, and whether the medians meet issue 12's targets:
every training step >= 1.0 and every inference >= 0.9 of PyTorch. Exit status 1 when a log is
missing or unreadable (a workload's row then says which).
"""
import os, re, statistics, sys

TARGETS = {"inference": 0.9, "training": 1.0}


def sidenet_figures(text, model):
    """(inference, training) throughput from `sidenet bench models` output."""
    if model.startswith("resnet"):
        inf = re.search(re.escape(model) + r" inference: ([\d.]+)", text)
    else:
        inf = re.search(re.escape(model) + r" inference, [^:]*: ([\d.]+)", text)
    train = re.search(re.escape(model) + r" training step[^:]*: ([\d.]+)", text)
    return (float(inf.group(1)) if inf else None, float(train.group(1)) if train else None)


def pytorch_figures(text, model):
    """(inference, training) throughput from bench_pytorch.py output (best layout for ResNets)."""
    if model.startswith("resnet"):
        m = re.search(r"pytorch " + re.escape(model) + r" best inference: ([\d.]+) img/s \(\w+\); best training step: ([\d.]+)", text)
        return (float(m.group(1)), float(m.group(2))) if m else (None, None)
    inf = re.search(r"pytorch " + re.escape(model) + r" inference [^:]*: ([\d.]+)", text)
    train = re.search(r"pytorch " + re.escape(model) + r" training step [^:]*: ([\d.]+)", text)
    return (float(inf.group(1)) if inf else None, float(train.group(1)) if train else None)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench_ratios.py OUTDIR")
    out = sys.argv[1]
    rounds = sorted((int(d[6:]) for d in os.listdir(out) if re.fullmatch(r"round-\d+", d)))
    if not rounds:
        sys.exit(f"bench_ratios.py: no round-N directories in {out}")
    models = []
    for r in rounds:
        for name in sorted(os.listdir(os.path.join(out, f"round-{r}"))):
            m = re.fullmatch(r"sidenet-(.+)\.log", name)
            if m and m.group(1) not in models:
                models.append(m.group(1))
    order = ["resnet18", "resnet50", "resnet152", "bert-base", "distilbert"]
    models.sort(key=lambda m: (order.index(m) if m in order else len(order), m))
    ok, complete = True, True
    print(f"sidenet / PyTorch, {len(rounds)} round(s); each round: sidenet and PyTorch seconds apart")
    print(f"| workload | {' | '.join(f'round {r}' for r in rounds)} | median | target | meets |")
    print(f"|---|{'---|' * len(rounds)}---|---|---|")
    for model in models:
        for k, kind in enumerate(["inference", "training"]):
            ratios = []
            for r in rounds:
                s = sidenet_figures(read(os.path.join(out, f"round-{r}", f"sidenet-{model}.log")), model)[k]
                p = pytorch_figures(read(os.path.join(out, f"round-{r}", f"pytorch-{model}.log")), model)[k]
                ratios.append(s / p if s and p else None)
            got = [x for x in ratios if x is not None]
            if len(got) < len(ratios):
                complete = False
            med = statistics.median(got) if got else None
            meets = med is not None and med >= TARGETS[kind]
            ok = ok and meets
            cells = " | ".join("missing" if x is None else f"{x:.2f}" for x in ratios)
            print(f"| {model} {kind} | {cells} | {'-' if med is None else f'{med:.2f}'} | >= {TARGETS[kind]} | {'yes' if meets else 'NO'} |")
    print(f"all medians meet the targets: {'yes' if ok else 'no'}{'' if complete else ' (some logs missing or unreadable)'}")
    sys.exit(0 if complete else 1)


if __name__ == "__main__":
    main()
