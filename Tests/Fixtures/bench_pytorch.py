#!/usr/bin/env python3
"""PyTorch beside `sidenet bench models`, in the same session and threads (not used by CI).

    /tmp/ref/bin/python Tests/Fixtures/bench_pytorch.py [--threads 2] [--repeat 2]

ResNets use the torchvision-identical classes in models.py (torchvision itself has no wheel
for every torch build); BERT-base / DistilBERT use transformers with random weights.
Inference: eval mode, inference_mode. Training step: forward, cross-entropy (ResNet) or BCE
(text) on the MainNet output, backward, Adam. ResNets are timed in both memory layouts
(contiguous NCHW and channels_last, which oneDNN prefers) and the faster is reported, so PyTorch
gets its best layout; the first line names the CPU capability PyTorch dispatches to.
"""
import argparse, os, sys, time
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import ResNet, BasicBlock, Bottleneck  # noqa: E402

def best(fn, repeat):
    fn()
    t = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); t = min(t, time.perf_counter() - t0)
    return t

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    nets = {"resnet18": (BasicBlock, [2, 2, 2, 2]), "resnet50": (Bottleneck, [3, 4, 6, 3]),
            "resnet152": (Bottleneck, [3, 8, 36, 3])}
    print(f"pytorch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{torch.get_num_threads()} thread(s)")
    layouts = [("nchw", torch.contiguous_format), ("channels_last", torch.channels_last)]
    for name, (block, layers) in nets.items():
        infer, train = {}, {}
        for layout, fmt in layouts:
            torch.manual_seed(0)
            m = ResNet(block, layers, num_classes=10).to(memory_format=fmt)
            x = torch.randn(128, 3, 32, 32).contiguous(memory_format=fmt); y = torch.randint(0, 10, (128,))
            m.eval()
            with torch.inference_mode():
                infer[layout] = 128 / best(lambda: m(x), a.repeat)
            m.train(); opt = torch.optim.Adam(m.parameters(), lr=1e-4)
            def step():
                opt.zero_grad(); torch.nn.functional.cross_entropy(m(x), y).backward(); opt.step()
            train[layout] = 128 / best(step, a.repeat)
        for what, r in (("inference", infer), ("training step (fwd+bwd+Adam)", train)):
            lay = max(r, key=r.get)
            others = ", ".join(f"{k} {v:.1f}" for k, v in r.items())
            print(f"pytorch {name} {what}: {r[lay]:.1f} img/s (best layout {lay}; {others})")
    from transformers import BertConfig, BertModel, DistilBertConfig, DistilBertModel
    for name, model in [("bert-base", BertModel(BertConfig())), ("distilbert", DistilBertModel(DistilBertConfig()))]:
        ids = torch.randint(1000, 20000, (32, 64))
        model.eval()
        with torch.inference_mode():
            t = best(lambda: model(input_ids=ids), a.repeat)
        print(f"pytorch {name} inference 32x64: {32 / t:.2f} seq/s")
        model.train(); head = torch.nn.Linear(model.config.hidden_size, 1)
        opt = torch.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=1e-5)
        tid = ids[:16]; tgt = torch.randint(0, 2, (16, 1)).float()
        def tstep():
            opt.zero_grad()
            h = model(input_ids=tid).last_hidden_state[:, 0]
            torch.nn.functional.binary_cross_entropy_with_logits(head(h), tgt).backward(); opt.step()
        print(f"pytorch {name} training step 16x64 (fwd+bwd+Adam): {16 / best(tstep, a.repeat):.2f} seq/s")

if __name__ == "__main__":
    main()
