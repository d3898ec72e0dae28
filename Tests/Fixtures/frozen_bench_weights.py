# Random STAND-IN weight files in the published formats (torchvision .pth, HF model.safetensors +
# config.json + vocab.txt), for timing the paper-frozen profile at full size without the real
# downloads. NOT pretrained: accuracies from them mean nothing; only shapes and costs are real.
#
#   /tmp/ref/bin/python Tests/Fixtures/frozen_bench_weights.py OUT_WEIGHTS_DIR SST_DATA_DIR
#
# SST_DATA_DIR is a `sidenet data synth sst` folder: its vocab.txt is copied beside each BERT and
# sets the vocabulary size. Used for README's frozen-profile timing (see Speed).
import json
import os
import shutil
import sys

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertModel, DistilBertConfig, DistilBertModel

out, sst = sys.argv[1], sys.argv[2]
torch.manual_seed(0)


# The last BatchNorm of each residual branch scales by RESIDUAL_GAMMA, not 1: with identity
# statistics everywhere, each of ResNet152's 50 blocks grows the residual stream until its final
# features (~1e7) overflow a Float16 feature cache; trained networks keep residual branches small
# (torchvision's zero_init_residual starts them at 0). The scale does not change any cost.
RESIDUAL_GAMMA = 0.2


def resnet(blocks, bottleneck):
    sd = {}

    def conv(name, o, i, k):
        sd[name + '.weight'] = torch.randn(o, i, k, k) * (2.0 / (i * k * k)) ** 0.5

    def bn(name, c, gamma=1.0):
        sd[name + '.weight'] = torch.full((c,), gamma)
        sd[name + '.bias'] = torch.zeros(c)
        sd[name + '.running_mean'] = torch.zeros(c)
        sd[name + '.running_var'] = torch.ones(c)
        sd[name + '.num_batches_tracked'] = torch.tensor(0)

    conv('conv1', 64, 3, 7)
    bn('bn1', 64)
    inp = 64
    exp = 4 if bottleneck else 1
    for li, (n, w) in enumerate(zip(blocks, [64, 128, 256, 512]), 1):
        for b in range(n):
            p = f'layer{li}.{b}'
            stride = 2 if (b == 0 and li > 1) else 1
            if bottleneck:
                conv(p + '.conv1', w, inp, 1); bn(p + '.bn1', w)
                conv(p + '.conv2', w, w, 3); bn(p + '.bn2', w)
                conv(p + '.conv3', w * 4, w, 1); bn(p + '.bn3', w * 4, RESIDUAL_GAMMA)
            else:
                conv(p + '.conv1', w, inp, 3); bn(p + '.bn1', w)
                conv(p + '.conv2', w, w, 3); bn(p + '.bn2', w, RESIDUAL_GAMMA)
            if b == 0 and (stride != 1 or inp != w * exp):
                conv(p + '.downsample.0', w * exp, inp, 1); bn(p + '.downsample.1', w * exp)
            inp = w * exp
    sd['fc.weight'] = torch.randn(1000, inp) * 0.01
    sd['fc.bias'] = torch.zeros(1000)
    return sd


os.makedirs(out, exist_ok=True)
for name, blocks, bottleneck in [('resnet18-f37072fd.pth', [2, 2, 2, 2], False),
                                 ('resnet34-b627a593.pth', [3, 4, 6, 3], False),
                                 ('resnet50-0676ba61.pth', [3, 4, 6, 3], True),
                                 ('resnet152-394f9c45.pth', [3, 8, 36, 3], True)]:
    torch.save(resnet(blocks, bottleneck), os.path.join(out, name))

vocab = os.path.join(sst, 'vocab.txt')
vocab_size = sum(1 for _ in open(vocab, encoding='utf-8'))
for folder, model in [
        ('bert-base-uncased', BertModel(BertConfig(vocab_size=vocab_size))),
        ('bert-large-uncased', BertModel(BertConfig(vocab_size=vocab_size, hidden_size=1024, num_hidden_layers=24,
                                                    num_attention_heads=16, intermediate_size=4096))),
        ('distilbert-base-uncased', DistilBertModel(DistilBertConfig(vocab_size=vocab_size)))]:
    d = os.path.join(out, folder)
    os.makedirs(d, exist_ok=True)
    prefix = 'bert.' if folder.startswith('bert') else 'distilbert.'
    save_file({prefix + k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(d, 'model.safetensors'))
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump(model.config.to_dict(), f, indent=1)
    shutil.copy(vocab, os.path.join(d, 'vocab.txt'))
with open(os.path.join(out, 'README.txt'), 'w') as f:
    f.write('RANDOM STAND-IN WEIGHTS (not pretrained), written by Tests/Fixtures/frozen_bench_weights.py for timing.\n')
print('wrote stand-in weights to', out)
