"""Reference fixtures for the image side of the Datasets module (Tests/DatasetsTests).

Writes data/resize.safetensors with, for each case, an input `<case>.x` (float32 NCHW) and
the PyTorch output `<case>.y` of
    F.interpolate(x, size=(H, W), mode="bilinear", align_corners=False)   # antialias=False
and a full preprocessing case `pipeline.*`: uint8 CHW images -> /255 -> bilinear resize ->
ImageNet Normalize (x - mean) / std, as torchvision's ToTensor + Normalize compute it.
Run: /tmp/ref/bin/python Tests/Fixtures/make_fixtures.py data
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

CASES = {
    # name: (input shape N,C,H,W, output (H, W))
    "up224": ((1, 3, 32, 32), (224, 224)),   # the CIFAR -> ImageNet-size path
    "up_odd": ((2, 2, 7, 5), (16, 11)),      # non-integer, different per axis
    "down": ((1, 3, 32, 32), (13, 20)),      # downscale, no antialias
    "down_big": ((2, 3, 40, 36), (24, 17)),
    "mixed": ((1, 1, 9, 30), (20, 8)),       # up in H, down in W
}

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def main(out_dir):
    g = torch.Generator().manual_seed(20240607)
    tensors = {}
    for name, (shape, size) in CASES.items():
        x = torch.rand(shape, generator=g, dtype=torch.float32)
        y = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        tensors[name + ".x"] = x.contiguous()
        tensors[name + ".y"] = y.contiguous()
    u8 = torch.randint(0, 256, (2, 3, 32, 32), generator=g, dtype=torch.uint8)
    x = u8.float().div(255)
    x = F.interpolate(x, size=(48, 48), mode="bilinear", align_corners=False)
    x = x.sub(IMAGENET_MEAN).div(IMAGENET_STD)
    tensors["pipeline.u8"] = u8.contiguous()
    tensors["pipeline.y"] = x.contiguous()
    path = os.path.join(out_dir, "resize.safetensors")
    save_file(tensors, path, metadata={"torch": torch.__version__, "script": "Tests/Fixtures/data.py"})
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")
