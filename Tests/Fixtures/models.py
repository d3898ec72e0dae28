"""Reference fixtures for the Models area (image part): reduced-width torchvision ResNets with
the paper's MLP head and a SideNet at layer1.

Called by make_fixtures.py (`/tmp/ref/bin/python Tests/Fixtures/make_fixtures.py models`).
torchvision is not installed in the reference venv (its wheels did not match torch 2.13), so
BasicBlock / Bottleneck / ResNet below are a faithful copy of torchvision/models/resnet.py
(v1.5 Bottleneck, same module names, same _make_layer rule), with the base width as an argument
instead of the hard-coded 64 so the fixtures stay small. Key names are torchvision's.

Writes Tests/Fixtures/models/resnet_basic/ and resnet_bottleneck/:
  checkpoint.safetensors  harness checkpoint: backbone keys as torchvision's (no fc),
                          head.{fc1,bn,fc2}.*, sidenet.{fc1,bn,fc2}.*, incl. BN buffers
  torchvision.pth         torch.save(state_dict) of the plain torchvision-keyed net incl. fc.*
                          (bottleneck: num_batches_tracked removed, like the V1 hub files)
  config.json             block, blocks, width, classes, hidden, attach, input_size, batch
  io.safetensors          inputs, labels, logits (eval and train mode), gradients, BN stats
The text part (models_text.py, another helper's) is called when present.
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)   # v1.5: stride on the 3x3
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block, layers, width=64, num_classes=1000):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)

    def stem(self, x):
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def features(self, x):  # pooled features [N, C]
        x = self.stem(x)
        for l in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = l(x)
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x):
        return self.fc(self.features(x))


class MLPHead(nn.Module):
    """The paper's head / SideNet: Linear -> BatchNorm1d -> ReLU -> Linear (experiments order)."""

    def __init__(self, in_features, hidden, outputs):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.fc2 = nn.Linear(hidden, outputs)

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(torch.flatten(x, 1)))))


class SideNetResNet(ResNet):
    """Backbone keys as torchvision's, `fc` replaced by `head`, SideNet after layer1."""

    def __init__(self, block, layers, width, num_classes, hidden, side_in):
        super().__init__(block, layers, width, num_classes)
        del self.fc
        self.head = MLPHead(width * 8 * block.expansion, hidden, num_classes)
        self.sidenet = MLPHead(side_in, hidden, num_classes)

    def forward(self, x):
        a = self.layer1(self.stem(x))
        side = self.sidenet(a)
        for l in (self.layer2, self.layer3, self.layer4):
            a = l(a)
        main = self.head(torch.flatten(self.avgpool(a), 1))
        return main, side


def randomize_bn(model, g):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                c = m.num_features
                m.weight.copy_(1 + 0.2 * torch.randn(c, generator=g))
                m.bias.copy_(0.1 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + torch.rand(c, generator=g))
                m.num_batches_tracked.fill_(3)


def write_case(out, name, model, meta):
    """Creates out/name with config.json (`meta`; safetensors would write a metadata map in hash
    order) and checkpoint.safetensors (the model's state dict). Returns the folder and the state."""
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(meta, f, sort_keys=True, indent=1)
    ckpt = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(ckpt, os.path.join(d, "checkpoint.safetensors"))
    return d, ckpt


def eval_io(model, x, y):
    """The inputs, labels and eval-mode MainNet and SideNet logits of a case."""
    model.eval()
    with torch.no_grad():
        main, side = model(x)
    return {"input": x, "labels": y.to(torch.int64), "eval.main_logits": main, "eval.side_logits": side}


def train_step(model, x, y, io, grad_keys, buffer_keys):
    """One train-mode step of L = CE(main) + CE(side) (alpha 1) into `io`: logits, loss,
    dL/dinput, the gradients of `grad_keys` and the buffers `buffer_keys` after the step."""
    model.train()
    xg = x.clone().requires_grad_(True)
    main, side = model(xg)
    loss = F.cross_entropy(main, y) + F.cross_entropy(side, y)
    loss.backward()
    io["train.main_logits"] = main.detach()
    io["train.side_logits"] = side.detach()
    io["train.loss"] = loss.detach().reshape(1)
    io["grad.input"] = xg.grad
    params = dict(model.named_parameters())
    for k in grad_keys:
        io["grad." + k] = params[k].grad
    bufs = dict(model.named_buffers())
    for k in buffer_keys:
        io["after_train." + k] = bufs[k]
    return loss


def make_case(out, name, block, layers, width, classes, hidden, n, size, seed, strip_counters):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 1)
    # layer1 output: width*expansion channels at size/4 (stem /2, maxpool /2)
    s = (size + 6 - 7) // 2 + 1
    s = (s + 2 - 3) // 2 + 1
    side_in = width * block.expansion * s * s
    model = SideNetResNet(block, layers, width, classes, hidden, side_in)
    randomize_bn(model, g)
    x = torch.randn(n, 3, size, size, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)

    d, ckpt = write_case(out, name, model, {"block": "basic" if block is BasicBlock else "bottleneck", "blocks": layers,
                                            "width": width, "classes": classes, "hidden": hidden, "attach": "layer1",
                                            "input_size": size, "batch": n})

    # torchvision-keyed plain net with an fc, sharing the backbone weights
    tv = ResNet(block, layers, width, classes)
    sd = tv.state_dict()
    for k in sd:
        if not k.startswith("fc."):
            sd[k] = ckpt[k]
    tv.load_state_dict(sd)
    sd = tv.state_dict()
    if strip_counters:
        sd = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    torch.save(sd, os.path.join(d, "torchvision.pth"))

    io = eval_io(model, x, y)
    with torch.no_grad():
        io["eval.features"] = model.features(x)
        io["eval.attach"] = model.layer1(model.stem(x))
        io["tv.eval.logits"] = tv.eval()(x)
    loss = train_step(model, x, y, io,
                      ["conv1.weight", "layer1.0.bn1.weight", "layer1.0.conv1.weight", "layer4.0.conv2.weight",
                       "head.fc1.weight", "head.bn.weight", "head.fc2.bias", "sidenet.fc1.bias", "sidenet.fc2.weight"],
                      ["bn1.running_mean", "bn1.running_var", "layer1.0.bn1.running_var", "sidenet.bn.running_mean",
                       "head.bn.running_var"])
    save_file({k: v.detach().contiguous() for k, v in io.items()}, os.path.join(d, "io.safetensors"))
    print(f"  {name}: {sum(p.numel() for p in model.parameters())} params, loss {loss.item():.4f}")


def main(out):
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    make_case(out, "resnet_basic", BasicBlock, [2, 2, 2, 2], 4, 10, 32, 4, 32, 1234, strip_counters=False)
    make_case(out, "resnet_bottleneck", Bottleneck, [2, 1, 1, 1], 2, 10, 32, 4, 32, 4321, strip_counters=True)
    here = os.path.dirname(os.path.abspath(__file__))
    if os.path.exists(os.path.join(here, "models_text.py")):
        import models_text
        models_text.main(out)
    if os.path.exists(os.path.join(here, "models_vgg.py")):
        import models_vgg
        models_vgg.main(out)
