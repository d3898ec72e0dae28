#!/usr/bin/env python3
"""Writes every PyTorch/transformers reference fixture the Swift tests compare against.

Run with a Python that has torch, transformers and safetensors (never needed by CI):
    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch transformers safetensors
    /tmp/ref/bin/python Tests/Fixtures/make_fixtures.py            # all areas
    /tmp/ref/bin/python Tests/Fixtures/make_fixtures.py layers     # one area
Each area is a module beside this file (layers.py, weightio.py, ...) with a main(out_dir)
that writes into Tests/Fixtures/<area>/. Outputs are deterministic and small; commit them.
"""
import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
AREAS = ["layers", "optim", "weightio", "models", "data", "tokenizer"]

def main(argv):
    sys.path.insert(0, HERE)
    wanted = argv[1:] or AREAS
    for area in wanted:
        if not os.path.exists(os.path.join(HERE, area + ".py")):
            print(f"skip {area}: no {area}.py yet")
            continue
        out = os.path.join(HERE, area)
        os.makedirs(out, exist_ok=True)
        print(f"== {area} -> {out}")
        importlib.import_module(area).main(out)

if __name__ == "__main__":
    main(sys.argv)
