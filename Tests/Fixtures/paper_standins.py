"""Random full-size weight files in the published formats, for timing the paper profile when the
real downloads are absent (`sidenet plan` and a short measured run; see README, Reproduction notes).

RANDOM WEIGHTS, NOT the ImageNet / BERT checkpoints: every accuracy obtained with them is
meaningless; only their shapes, names and file formats match the published files:
  weights/resnet{18,34,50,152}-<hash>.pth   torchvision state_dict names, PyTorch zip format
  weights/{bert-base-uncased,bert-large-uncased,distilbert-base-uncased}/{config.json,model.safetensors,vocab.txt}
The vocab.txt is the generated SST stand-in's vocabulary (`sidenet data synth sst`) padded with
filler tokens to the published 30,522 entries, so the stand-in sentences tokenize.

Usage: /tmp/ref/bin/python Tests/Fixtures/paper_standins.py OUT_DIR SST_VOCAB [names...]
  (names: resnet18 resnet34 resnet50 resnet152 bert-base bert-large distilbert; default all)
Needs torch and transformers (not torchvision).
"""
import os
import sys

import torch

TORCHVISION = {  # file name as published (hash = the file's SHA-256 prefix), block, layers
    "resnet18": ("resnet18-f37072fd.pth", "basic", [2, 2, 2, 2]),
    "resnet34": ("resnet34-b627a593.pth", "basic", [3, 4, 6, 3]),
    "resnet50": ("resnet50-0676ba61.pth", "bottleneck", [3, 4, 6, 3]),
    "resnet152": ("resnet152-394f9c45.pth", "bottleneck", [3, 8, 36, 3]),
}


def conv(sd, name, cout, cin, k):
    w = torch.empty(cout, cin, k, k)
    torch.nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    sd[name + ".weight"] = w


def bn(sd, name, c):
    sd[name + ".weight"] = torch.ones(c)
    sd[name + ".bias"] = torch.zeros(c)
    sd[name + ".running_mean"] = torch.zeros(c)
    sd[name + ".running_var"] = torch.ones(c)
    sd[name + ".num_batches_tracked"] = torch.tensor(0, dtype=torch.int64)


def resnet_state_dict(block, layers):
    """torchvision.models.ResNet's state_dict names and shapes, randomly initialised."""
    sd = {}
    conv(sd, "conv1", 64, 3, 7)
    bn(sd, "bn1", 64)
    expansion = 1 if block == "basic" else 4
    inplanes = 64
    for li, (planes, count) in enumerate(zip([64, 128, 256, 512], layers)):
        stride = 1 if li == 0 else 2
        for b in range(count):
            p = f"layer{li + 1}.{b}"
            s = stride if b == 0 else 1
            if block == "basic":
                conv(sd, p + ".conv1", planes, inplanes, 3); bn(sd, p + ".bn1", planes)
                conv(sd, p + ".conv2", planes, planes, 3); bn(sd, p + ".bn2", planes)
            else:
                conv(sd, p + ".conv1", planes, inplanes, 1); bn(sd, p + ".bn1", planes)
                conv(sd, p + ".conv2", planes, planes, 3); bn(sd, p + ".bn2", planes)
                conv(sd, p + ".conv3", planes * 4, planes, 1); bn(sd, p + ".bn3", planes * 4)
            if b == 0 and (s != 1 or inplanes != planes * expansion):
                conv(sd, p + ".downsample.0", planes * expansion, inplanes, 1)
                bn(sd, p + ".downsample.1", planes * expansion)
            inplanes = planes * expansion
    sd["fc.weight"] = torch.randn(1000, inplanes) * 0.01
    sd["fc.bias"] = torch.zeros(1000)
    return sd


def write_vocab(path, sst_vocab):
    tokens = [t for t in open(sst_vocab, encoding="utf-8").read().split("\n") if t]
    n = 0
    while len(tokens) < 30522:
        tokens.append(f"filler{n}")
        n += 1
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(tokens) + "\n")


def write_text_model(out, name, sst_vocab):
    import transformers
    d = os.path.join(out, {"bert-base": "bert-base-uncased", "bert-large": "bert-large-uncased",
                           "distilbert": "distilbert-base-uncased"}[name])
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(0)
    if name == "distilbert":
        model = transformers.DistilBertForMaskedLM(transformers.DistilBertConfig())
    else:
        large = name == "bert-large"
        cfg = transformers.BertConfig(hidden_size=1024 if large else 768,
                                      num_hidden_layers=24 if large else 12,
                                      num_attention_heads=16 if large else 12,
                                      intermediate_size=4096 if large else 3072)
        model = transformers.BertForPreTraining(cfg)
    model.save_pretrained(d, safe_serialization=True)
    write_vocab(os.path.join(d, "vocab.txt"), sst_vocab)
    print("wrote", d)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, sst_vocab = sys.argv[1], sys.argv[2]
    names = sys.argv[3:] or list(TORCHVISION) + ["bert-base", "bert-large", "distilbert"]
    os.makedirs(out, exist_ok=True)
    for name in names:
        if name in TORCHVISION:
            torch.manual_seed(0)
            file, block, layers = TORCHVISION[name]
            path = os.path.join(out, file)
            torch.save(resnet_state_dict(block, layers), path)
            print("wrote", path)
        else:
            write_text_model(out, name, sst_vocab)


if __name__ == "__main__":
    main()
