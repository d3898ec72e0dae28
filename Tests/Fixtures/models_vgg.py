"""Reference fixtures for the VGG family: reduced-width torchvision VGGs (cfg A = vgg11, with
and without BatchNorm) whose last classifier layer `classifier.6` is replaced by the paper's
MLP head (on the output of classifier.5, as the head replaces ResNet's `fc`), with a SideNet
after a `features` module; and torchvision's adaptive average pooling on its own.

Called by models.py (`/tmp/ref/bin/python Tests/Fixtures/make_fixtures.py models`) or alone
(`/tmp/ref/bin/python Tests/Fixtures/models_vgg.py`). torchvision cannot be imported in the
reference venv (its compiled ops do not match torch 2.13), so `make_layers`, `cfgs` and `VGG`
below are a faithful copy of torchvision/models/vgg.py (same Sequential indices, hence the same
`features.N.*` / `classifier.N.*` keys, same init), with a `width` that scales every channel
count and the classifier's 4096 by width/64 so the fixtures stay small, and non-inplace ReLUs
(same values; lets the SideNet read any module's output). MLPHead, randomize_bn and train_step
are models.py's (and write_case, eval_io).

Writes Tests/Fixtures/models/vgg_bn/ (32x32: the last map is 1x1, copied 49 times by the 7x7
pool) and vgg_plain/ (64x64: a 2x2 map into overlapping 7x7 bins):
  checkpoint.safetensors  harness checkpoint: features.*, classifier.{0,3}.* as torchvision's,
                          head.*, sidenet.*
  torchvision.pth         torch.save(state_dict) of the plain torchvision VGG, incl. classifier.6
  config.json             cfg, batch_norm, width, dropout, classes, hidden, attach, input_size, batch
  io.safetensors          inputs, labels, logits (eval, and train mode with dropout off: the
                          masks are the harness's own, tested there by replay), gradients
                          incl. classifier.0/.3, BN statistics
and Tests/Fixtures/models/vgg_pool.safetensors: AdaptiveAvgPool2d forward and backward for
several input and output sizes (`case<i>.x`, `.dout`, `.y`, `.dx`, `.size` = [oh, ow]).
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

from models import MLPHead, eval_io, randomize_bn, train_step, write_case

cfgs = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def scaled(c, width):
    return max(1, c * width // 64)


def make_layers(cfg, batch_norm, width):
    layers = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            v = scaled(v, width)
            conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=False)]
            else:
                layers += [conv2d, nn.ReLU(inplace=False)]
            in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """torchvision's VGG with its weight init; 4096 scaled by width/64."""

    def __init__(self, features, width, num_classes=1000, dropout=0.5):
        super().__init__()
        fc = scaled(4096, width)
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(scaled(512, width) * 7 * 7, fc), nn.ReLU(True), nn.Dropout(p=dropout),
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


class SideNetVGG(nn.Module):
    """torchvision's features, avgpool and classifier.0-5 (shared with `tv`), the head in place
    of classifier.6, the SideNet after features.<attach>."""

    def __init__(self, tv, width, classes, hidden, attach, side_in):
        super().__init__()
        self.features = tv.features
        self.avgpool = tv.avgpool
        self.classifier = tv.classifier[:6]
        self.head = MLPHead(scaled(4096, width), hidden, classes)
        self.sidenet = MLPHead(side_in, hidden, classes)
        self.attach = attach

    def prefix(self, x):
        return self.features[: self.attach + 1](x)

    def forward(self, x):
        a = self.prefix(x)
        side = self.sidenet(a)
        a = self.features[self.attach + 1:](a)
        main = self.head(self.classifier(torch.flatten(self.avgpool(a), 1)))
        return main, side


def randomize(model, g):
    randomize_bn(model, g)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.bias.copy_(0.1 * torch.randn(m.out_channels, generator=g))
            elif isinstance(m, nn.Linear):   # N(0, 0.01) weights would make the logits nearly constant
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.in_features ** 0.5)
                m.bias.copy_(0.1 * torch.randn(m.out_features, generator=g))


def make_case(out, name, cfg, batch_norm, width, classes, hidden, attach, n, size, seed):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 1)
    tv = VGG(make_layers(cfgs[cfg], batch_norm, width), width, classes, dropout=0.5)
    randomize(tv, g)
    x = torch.randn(n, 3, size, size, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    with torch.no_grad():
        side_in = tv.features[: attach + 1](x)[0].numel()
    model = SideNetVGG(tv, width, classes, hidden, attach, side_in)
    randomize(model.head, g)
    randomize(model.sidenet, g)

    d, _ = write_case(out, name, model, {"cfg": cfg, "batch_norm": batch_norm, "width": width, "dropout": 0.0,
                                         "classes": classes, "hidden": hidden, "attach": f"features.{attach}",
                                         "input_size": size, "batch": n})
    torch.save(tv.state_dict(), os.path.join(d, "torchvision.pth"))

    io = eval_io(model, x, y)
    with torch.no_grad():
        io["eval.attach"] = model.prefix(x)
        io["eval.head_input"] = model.classifier(torch.flatten(model.avgpool(model.features(x)), 1))
    for m in model.classifier:
        if isinstance(m, nn.Dropout):
            m.p = 0.0   # train-mode parity without masks (meta "dropout": 0)
    convs = [i for i, m in enumerate(model.features) if isinstance(m, nn.Conv2d)]
    grads = [f"features.{convs[0]}.weight", f"features.{convs[2]}.weight", f"features.{convs[-1]}.weight",
             "classifier.0.weight", "classifier.0.bias", "classifier.3.weight", "classifier.3.bias",
             "head.fc1.weight", "head.bn.weight", "head.fc2.bias", "sidenet.fc1.weight", "sidenet.fc2.bias"]
    bufs = ["head.bn.running_var", "sidenet.bn.running_mean"]
    if batch_norm:
        # a conv bias in front of train-mode BatchNorm has gradient 0 (float noise): not compared
        grads += ["features.1.weight", "features.1.bias", f"features.{convs[-1] + 1}.weight"]
        bufs += ["features.1.running_mean", "features.1.running_var", f"features.{convs[-1] + 1}.running_var"]
    else:
        grads += [f"features.{convs[0]}.bias", f"features.{convs[-1]}.bias"]
    loss = train_step(model, x, y, io, grads, bufs)
    save_file({k: v.detach().contiguous() for k, v in io.items()}, os.path.join(d, "io.safetensors"))
    print(f"  {name}: {sum(p.numel() for p in model.parameters())} params, loss {loss.item():.4f}")


def make_pool_cases(out, seed):
    """nn.AdaptiveAvgPool2d forward and backward: smaller, equal, larger and uneven inputs."""
    g = torch.Generator().manual_seed(seed)
    io = {}
    shapes = [((2, 3, 1, 1), (7, 7)), ((1, 2, 2, 3), (7, 7)), ((2, 2, 14, 14), (7, 7)), ((1, 3, 10, 13), (7, 7)),
              ((2, 1, 5, 7), (3, 4)), ((1, 2, 9, 4), (4, 6)), ((1, 1, 7, 7), (7, 7))]
    for i, (shape, size) in enumerate(shapes):
        x = torch.randn(shape, generator=g).requires_grad_(True)
        y = F.adaptive_avg_pool2d(x, size)
        dout = torch.randn(y.shape, generator=g)
        y.backward(dout)
        io.update({f"case{i}.x": x.detach(), f"case{i}.dout": dout, f"case{i}.y": y.detach(), f"case{i}.dx": x.grad,
                   f"case{i}.size": torch.tensor(size, dtype=torch.int64)})
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(out, "vgg_pool.safetensors"))
    print(f"  vgg_pool: {len(shapes)} adaptive pooling cases")


def main(out):
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    make_case(out, "vgg_bn", "A", True, 1, 10, 8, 7, 4, 32, 777)
    make_case(out, "vgg_plain", "A", False, 1, 10, 8, 5, 4, 64, 778)
    make_pool_cases(out, 779)


if __name__ == "__main__":
    main(os.path.join(os.path.dirname(os.path.abspath(__file__)), "models"))
