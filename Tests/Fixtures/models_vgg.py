"""Reference fixtures for the VGG family: reduced-width torchvision VGGs (cfg A = vgg11, with
and without BatchNorm) with the paper's MLP head on the globally pooled last feature map and a
SideNet after `features.7` (the max pool ending the second block), 4 images of 32x32.

Called by models.py (`/tmp/ref/bin/python Tests/Fixtures/make_fixtures.py models`) or alone
(`/tmp/ref/bin/python Tests/Fixtures/models_vgg.py`). torchvision cannot be imported in the
reference venv (its compiled ops do not match torch 2.13), so `make_layers` and `cfgs` below
are a faithful copy of torchvision/models/vgg.py (same Sequential indices, hence the same
`features.N.*` keys), with a `width` that scales the channel counts by width/64 so the fixtures
stay small, and non-inplace ReLUs (same values; lets the SideNet read any module's output).

Writes Tests/Fixtures/models/vgg_bn/ and vgg_plain/:
  checkpoint.safetensors  harness checkpoint: features.* as torchvision's, head.*, sidenet.*
  torchvision.pth         torch.save(state_dict) of the plain torchvision-keyed VGG incl. its
                          classifier.* (which the MainNet head replaces; 16 wide, not 4096)
  config.json             cfg, batch_norm, width, classes, hidden, attach, input_size, batch
  io.safetensors          inputs, labels, logits (eval and train mode), gradients, BN stats
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

cfgs = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_layers(cfg, batch_norm, width):
    layers = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            v = max(1, v * width // 64)
            conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=False)]
            else:
                layers += [conv2d, nn.ReLU(inplace=False)]
            in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """torchvision's VGG (classifier on avgpool 7x7) with its weight init; `fc` = 4096 in
    torchvision, 16 here so the .pth stays small (same classifier.* keys, which are skipped)."""

    def __init__(self, features, last, num_classes=1000, dropout=0.5, fc=16):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(last * 7 * 7, fc), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(fc, fc), nn.ReLU(True), nn.Dropout(p=dropout), nn.Linear(fc, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)


class MLPHead(nn.Module):
    """The paper's head / SideNet: Linear -> BatchNorm1d -> ReLU -> Linear."""

    def __init__(self, in_features, hidden, outputs):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.fc2 = nn.Linear(hidden, outputs)

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(torch.flatten(x, 1)))))


class SideNetVGG(nn.Module):
    """features as torchvision's, the head on the pooled last map, the SideNet after features.<attach>."""

    def __init__(self, features, last, classes, hidden, attach, side_in):
        super().__init__()
        self.features = features
        self.head = MLPHead(last, hidden, classes)
        self.sidenet = MLPHead(side_in, hidden, classes)
        self.attach = attach

    def prefix(self, x):
        for m in self.features[: self.attach + 1]:
            x = m(x)
        return x

    def forward(self, x):
        a = self.prefix(x)
        side = self.sidenet(a)
        for m in self.features[self.attach + 1:]:
            a = m(a)
        main = self.head(torch.flatten(F.adaptive_avg_pool2d(a, 1), 1))
        return main, side


def randomize(model, g):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                c = m.num_features
                m.weight.copy_(1 + 0.2 * torch.randn(c, generator=g))
                m.bias.copy_(0.1 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + torch.rand(c, generator=g))
                m.num_batches_tracked.fill_(3)
            elif isinstance(m, nn.Conv2d):
                m.bias.copy_(0.1 * torch.randn(m.out_channels, generator=g))


def make_case(out, name, cfg, batch_norm, width, classes, hidden, attach, n, size, seed):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 1)
    tv = VGG(make_layers(cfgs[cfg], batch_norm, width), max(1, 512 * width // 64), classes)
    randomize(tv, g)
    x = torch.randn(n, 3, size, size, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    with torch.no_grad():
        a = x
        for m in tv.features[: attach + 1]:
            a = m(a)
    model = SideNetVGG(tv.features, max(1, 512 * width // 64), classes, hidden, attach, a[0].numel())
    randomize(model.head, g)
    randomize(model.sidenet, g)

    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    meta = {"cfg": cfg, "batch_norm": batch_norm, "width": width, "classes": classes, "hidden": hidden,
            "attach": f"features.{attach}", "input_size": size, "batch": n}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(meta, f, sort_keys=True, indent=1)
    save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()},
              os.path.join(d, "checkpoint.safetensors"))
    torch.save(tv.state_dict(), os.path.join(d, "torchvision.pth"))

    io = {"input": x, "labels": y.to(torch.int64)}
    model.eval()
    with torch.no_grad():
        main, side = model(x)
        io["eval.main_logits"] = main
        io["eval.side_logits"] = side
        io["eval.attach"] = model.prefix(x)
    model.train()
    xg = x.clone().requires_grad_(True)
    main, side = model(xg)
    loss = F.cross_entropy(main, y) + F.cross_entropy(side, y)   # L = L_M + alpha L_S, alpha 1
    loss.backward()
    io["train.main_logits"] = main.detach()
    io["train.side_logits"] = side.detach()
    io["train.loss"] = loss.detach().reshape(1)
    io["grad.input"] = xg.grad
    convs = [i for i, m in enumerate(model.features) if isinstance(m, nn.Conv2d)]
    keys = [f"features.{convs[0]}.weight", f"features.{convs[2]}.weight", f"features.{convs[-1]}.weight",
            "head.fc1.weight", "head.bn.weight", "head.fc2.bias", "sidenet.fc1.weight", "sidenet.fc2.bias"]
    if batch_norm:
        # a conv bias in front of train-mode BatchNorm has gradient 0 (float noise): not compared
        keys += ["features.1.weight", "features.1.bias", f"features.{convs[-1] + 1}.weight"]
    else:
        keys += [f"features.{convs[0]}.bias", f"features.{convs[-1]}.bias"]
    params = dict(model.named_parameters())
    for k in keys:
        io["grad." + k] = params[k].grad
    bufs = ["head.bn.running_var", "sidenet.bn.running_mean"]
    if batch_norm:
        bufs += ["features.1.running_mean", "features.1.running_var", f"features.{convs[-1] + 1}.running_var"]
    state = dict(model.named_buffers())
    for k in bufs:
        io["after_train." + k] = state[k]
    save_file({k: v.detach().contiguous() for k, v in io.items()}, os.path.join(d, "io.safetensors"))
    print(f"  {name}: {sum(p.numel() for p in model.parameters())} params, loss {loss.item():.4f}")


def main(out):
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    make_case(out, "vgg_bn", "A", True, 4, 10, 8, 7, 4, 32, 777)
    make_case(out, "vgg_plain", "A", False, 4, 10, 8, 5, 4, 32, 778)


if __name__ == "__main__":
    main(os.path.join(os.path.dirname(os.path.abspath(__file__)), "models"))
