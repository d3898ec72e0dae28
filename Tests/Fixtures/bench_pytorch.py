#!/usr/bin/env python3
"""PyTorch beside `sidenet bench models`, in the same session and threads (not used by CI).

    /tmp/ref/bin/python Tests/Fixtures/bench_pytorch.py [--threads 2] [--repeat 3]
        [--archs resnet18,resnet50,resnet152] [--text-archs bert-base,distilbert] [--layouts nchw,channels_last]

ResNets use the torchvision-identical classes in models.py with the paper's head and a SideNet
after layer1 (SideNetResNet, the same MLP as sidenet's: Linear -> 32 -> BatchNorm -> ReLU -> Linear).
Inference: MainNet alone (eval mode, no grad). Training step: forward with the SideNet, cross-entropy on
both outputs, backward, Adam over every parameter -- as `sidenet bench models`.
Each ResNet runs in every layout of --layouts (NCHW and channels_last); the best is marked.
BERT-base / DistilBERT use transformers with random weights.
"""
import argparse, os, sys, time

# OpenMP threads that spin while waiting collapse when the 2 cores are shared with other
# processes (ResNet18 inference measured 26 img/s spinning vs 452 passive under load); passive
# waiting is PyTorch's best setting on a shared machine. Set OMP_WAIT_POLICY=ACTIVE to override.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import BasicBlock, Bottleneck, SideNetResNet  # noqa: E402


def best(fn, repeat):
    fn()
    t = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); t = min(t, time.perf_counter() - t0)
    return t


def bench_resnet(name, block, layers, a):
    n, size = a.batch, a.input_size
    s = (size + 6 - 7) // 2 + 1
    s = (s + 2 - 3) // 2 + 1
    results = {}
    for layout in a.layouts.split(","):
        torch.manual_seed(0)
        m = SideNetResNet(block, layers, 64, 10, 32, 64 * block.expansion * s * s)
        x = torch.randn(n, 3, size, size); y = torch.randint(0, 10, (n,))
        if layout == "channels_last":
            m = m.to(memory_format=torch.channels_last); x = x.contiguous(memory_format=torch.channels_last)

        def infer():
            a1 = m.stem(x)
            for l in (m.layer1, m.layer2, m.layer3, m.layer4):
                a1 = l(a1)
            return m.head(torch.flatten(m.avgpool(a1), 1))
        m.eval()
        with torch.no_grad():
            ti = best(infer, a.repeat)
        m.train(); opt = torch.optim.Adam(m.parameters(), lr=1e-4)

        def step():
            opt.zero_grad()
            main, side = m(x)
            (F.cross_entropy(main, y) + F.cross_entropy(side, y)).backward()
            opt.step()
        tt = best(step, a.repeat)
        results[layout] = (n / ti, n / tt)
        print(f"pytorch {name} [{layout}] inference: {n / ti:.1f} img/s, training step (fwd+bwd+Adam, with SideNet): {n / tt:.1f} img/s")
    bi = max(results.items(), key=lambda kv: kv[1][0]); bt = max(results.items(), key=lambda kv: kv[1][1])
    print(f"pytorch {name} best inference: {bi[1][0]:.1f} img/s ({bi[0]}); best training step: {bt[1][1]:.1f} img/s ({bt[0]})")


def bench_text(name, a):
    from transformers import BertConfig, BertModel, DistilBertConfig, DistilBertModel
    model = BertModel(BertConfig()) if name == "bert-base" else DistilBertModel(DistilBertConfig())
    ids = torch.randint(1000, 20000, (32, 64))
    model.eval()
    with torch.no_grad():
        t = best(lambda: model(input_ids=ids), a.repeat)
    print(f"pytorch {name} inference 32x64: {32 / t:.2f} seq/s")
    model.train(); head = torch.nn.Linear(model.config.hidden_size, 1)
    opt = torch.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=1e-5)
    tid = ids[:16]; tgt = torch.randint(0, 2, (16, 1)).float()

    def tstep():
        opt.zero_grad()
        h = model(input_ids=tid).last_hidden_state[:, 0]
        F.binary_cross_entropy_with_logits(head(h), tgt).backward(); opt.step()
    print(f"pytorch {name} training step 16x64 (fwd+bwd+Adam): {16 / best(tstep, a.repeat):.2f} seq/s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--input-size", type=int, default=32)
    ap.add_argument("--archs", default="resnet18,resnet50,resnet152")
    ap.add_argument("--text-archs", default="bert-base,distilbert")
    ap.add_argument("--layouts", default="nchw,channels_last")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    nets = {"resnet18": (BasicBlock, [2, 2, 2, 2]), "resnet34": (BasicBlock, [3, 4, 6, 3]),
            "resnet50": (Bottleneck, [3, 4, 6, 3]), "resnet152": (Bottleneck, [3, 8, 36, 3])}
    print(f"torch {torch.__version__}, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}, {a.threads} thread(s), batch {a.batch}, {a.input_size}x{a.input_size}, best of {a.repeat}")
    for name in filter(None, a.archs.split(",")):
        bench_resnet(name, *nets[name], a)
    for name in filter(None, a.text_archs.split(",")):
        bench_text(name, a)


if __name__ == "__main__":
    main()
