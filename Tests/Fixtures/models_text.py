#!/usr/bin/env python3
"""Reference fixtures for the text encoders (BertModel, DistilBertModel) in Sources/Models.

Called by models.py (area "models") as models_text.main(out_dir) with out_dir =
Tests/Fixtures/models; writes out_dir/bert/ and out_dir/distilbert/. Standalone:
    cd Tests/Fixtures && /tmp/ref/bin/python -c 'import models_text; models_text.main("models")'

Tiny 2-layer models (vocab 100, hidden 32, 2 heads, FFN 64, 16 positions) with every parameter
randomized (seeded), eval mode (no dropout), eager attention (additive most-negative mask):
  config.json, model.safetensors   transformers save_pretrained of the base model (no prefix)
  seqcls.safetensors               *ForSequenceClassification state dict (bert./distilbert. prefix
                                   + classifier / pre_classifier), same encoder weights
  hub.safetensors (BERT)           hub-style: bert. prefix, LayerNorm.gamma/beta, position_ids
                                   buffer, cls.* pretraining head
  mlm.safetensors (DistilBERT)     DistilBertForMaskedLM (vocab_* head), same encoder weights
  pytorch_model.bin (BERT)         torch.save of the hub-style dict (zip format)
  reference.safetensors            ids [2,7] (second sequence padded after 4 tokens), mask,
                                   last_hidden, features (BERT pooler / DistilBERT h[CLS]),
                                   cls_layer0 (block 0's [CLS] state), r (loss weights) and
                                   grad.<key> of loss = sum(features * r) for every parameter
"""
import json
import os

import torch
from safetensors.torch import save_file

SEED = 1234


def randomize(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name:
                if name.endswith("weight"):
                    p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
                else:
                    p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))


def inputs(gen):
    ids = torch.randint(3, 100, (2, 7), generator=gen)
    ids[:, 0] = 2  # a [CLS]-like first token
    mask = torch.ones(2, 7, dtype=torch.int64)
    mask[1, 4:] = 0
    ids[1, 4:] = 0  # pad id
    return ids, mask


def reference(model, ids, mask, features_fn, gen, prefix):
    model.eval()
    model.zero_grad()
    out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    feats = features_fn(out)
    r = torch.randn(feats.shape, generator=gen)
    (feats * r).sum().backward()
    ref = {
        "ids": ids.clone(),
        "mask": mask.clone(),
        "last_hidden": out.last_hidden_state.detach().clone(),
        "features": feats.detach().clone(),
        "cls_layer0": out.hidden_states[1][:, 0].detach().clone(),
        "r": r,
    }
    for name, p in model.named_parameters():
        ref["grad." + name] = p.grad.detach().clone()
    return ref


def bert(out_dir):
    from transformers import BertConfig, BertForSequenceClassification, BertModel
    gen = torch.Generator().manual_seed(SEED)
    cfg = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=16, type_vocab_size=2)
    cfg._attn_implementation = "eager"
    model = BertModel(cfg)
    randomize(model, gen)
    d = os.path.join(out_dir, "bert")
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d)  # config.json + model.safetensors
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}

    seq = BertForSequenceClassification(cfg)
    seq.bert.load_state_dict(sd)
    randomize(seq.classifier, gen)
    save_file({k: v.detach().clone().contiguous() for k, v in seq.state_dict().items()},
              os.path.join(d, "seqcls.safetensors"))

    hub = {}
    for k, v in sd.items():
        k2 = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        hub["bert." + k2] = v
    hub["bert.embeddings.position_ids"] = torch.arange(16, dtype=torch.int64).unsqueeze(0)
    hub["cls.predictions.bias"] = 0.1 * torch.randn(100, generator=gen)
    hub["cls.predictions.transform.dense.weight"] = 0.1 * torch.randn(32, 32, generator=gen)
    hub["cls.predictions.transform.dense.bias"] = 0.1 * torch.randn(32, generator=gen)
    hub["cls.predictions.transform.LayerNorm.gamma"] = torch.ones(32)
    hub["cls.predictions.transform.LayerNorm.beta"] = torch.zeros(32)
    hub["cls.seq_relationship.weight"] = 0.1 * torch.randn(2, 32, generator=gen)
    hub["cls.seq_relationship.bias"] = torch.zeros(2)
    save_file(hub, os.path.join(d, "hub.safetensors"))
    torch.save(hub, os.path.join(d, "pytorch_model.bin"))

    ids, mask = inputs(gen)
    ref = reference(model, ids, mask, lambda o: o.pooler_output, gen, "")
    save_file(ref, os.path.join(d, "reference.safetensors"))


def distilbert(out_dir):
    from transformers import (DistilBertConfig, DistilBertForMaskedLM, DistilBertForSequenceClassification,
                              DistilBertModel)
    gen = torch.Generator().manual_seed(SEED + 1)
    cfg = DistilBertConfig(vocab_size=100, dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                           max_position_embeddings=16)
    cfg._attn_implementation = "eager"
    model = DistilBertModel(cfg)
    randomize(model, gen)
    d = os.path.join(out_dir, "distilbert")
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}

    seq = DistilBertForSequenceClassification(cfg)
    seq.distilbert.load_state_dict(sd)
    randomize(seq.pre_classifier, gen)
    randomize(seq.classifier, gen)
    save_file({k: v.detach().clone().contiguous() for k, v in seq.state_dict().items()},
              os.path.join(d, "seqcls.safetensors"))

    mlm = DistilBertForMaskedLM(cfg)
    mlm.distilbert.load_state_dict(sd)
    save_file({k: v.detach().clone().contiguous() for k, v in mlm.state_dict().items()},
              os.path.join(d, "mlm.safetensors"))

    ids, mask = inputs(gen)
    ref = reference(model, ids, mask, lambda o: o.last_hidden_state[:, 0], gen, "")
    save_file(ref, os.path.join(d, "reference.safetensors"))


def main(out_dir):
    torch.manual_seed(SEED)
    bert(out_dir)
    distilbert(out_dir)


if __name__ == "__main__":
    import sys
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "models"))
