"""WeightIO fixtures: small torch.save / safetensors files and the values they must decode to.

Written files (all a few KB):
  tiny_zip.pth         torch.save(state_dict, path)          zip, prefix "tiny_zip"
  tiny_stream.pth      torch.save(state_dict, BytesIO)       zip, prefix "archive"
  tiny_legacy.pth      _use_new_zipfile_serialization=False  legacy pickle stream
  shared.pth           views sharing one storage, storage offsets, a 0-d view, tied entries,
                       an nn.Parameter, f64/f16/bf16/i32/u8/bool tensors (zip)
  shared_legacy.pth    the same object in the legacy format
  nested.pth           {'epoch': 3, 'lr': 0.1, 'model': state_dict, 'tags': [...]} (zip)
  noncontig.pth        a transposed (non-contiguous) tensor (must be rejected)
  tiny.safetensors     safetensors.torch.save_file(state_dict, metadata={'format': 'pt'})
  evil_global.pth      zip whose data.pkl references os.system (hand-written bytes; must be refused)
  deflated.pth         tiny_zip.pth re-packed with a deflate-compressed data.pkl (must be refused)
  expected.json        {fixture: {name: {"dtype", "shape", "values"}}} with exact values
Nothing here is ever executed by the Swift side; the pickles are parsed by a restricted VM.
"""
import io
import json
import os
import zipfile

import torch
import torch.nn as nn


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.fc(x.mean(dim=(2, 3)))


def tiny_state_dict():
    torch.manual_seed(0)
    m = Tiny()
    m.train()
    for _ in range(3):  # non-trivial running stats and num_batches_tracked = 3
        m(torch.randn(2, 3, 5, 5))
    return m.state_dict()


def shared_object():
    base = torch.arange(24, dtype=torch.float32) * 0.5 - 3.0
    a = base[5:11].view(2, 3)  # storage offset 5
    return {
        "base": base,
        "a": a,
        "a_tied": a,                      # same tensor object twice
        "tail": base[20:],                # offset 20, runs to the storage end
        "scalar": base[7],                # 0-d with offset 7
        "row": base.view(4, 6)[2],        # offset 12
        "col1": base.view(24, 1)[3:9],    # size-1 dim, contiguous
        "param": nn.Parameter(torch.linspace(-1, 1, 6).view(2, 3)),
        "f64": torch.tensor([1.0 / 3.0, -2.5e-8, 1e30], dtype=torch.float64),
        "f16": torch.tensor([0.1, -65504.0, 6e-8, 1.0], dtype=torch.float16),
        "bf16": torch.tensor([0.1, -3.0e38, 1.0], dtype=torch.bfloat16),
        "i32": torch.tensor([[-2147483648, 7], [0, 2147483647]], dtype=torch.int32),
        "u8": torch.tensor([0, 1, 255], dtype=torch.uint8),
        "flags": torch.tensor([True, False, True]),
        "empty": torch.zeros(0, 3),
        "big_int": torch.tensor(2 ** 40 + 3, dtype=torch.int64),
    }


def describe(sd):
    out = {}
    for k, t in sd.items():
        t = t.detach()
        values = t.reshape(-1).tolist()
        if t.dtype in (torch.float16, torch.bfloat16):
            values = t.float().reshape(-1).tolist()  # exact in f32
        if t.dtype == torch.float64:
            values = t.float().double().reshape(-1).tolist()  # what a Float conversion yields
        if t.dtype == torch.bool:
            values = [int(v) for v in values]
        out[k] = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "values": values}
    return out


EVIL_PKL = (b"\x80\x02"                      # PROTO 2
            b"cos\nsystem\n"                  # GLOBAL os.system
            b"X\x04\x00\x00\x00true"          # BINUNICODE 'true'
            b"\x85R.")                        # TUPLE1 REDUCE STOP


ELEMENT_SIZE = {"FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2,
                "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
                "ByteStorage": 1, "BoolStorage": 1}


def normalize_legacy_keys(path):
    """Legacy storage keys are memory addresses, and storages are written in sorted-key order, so
    the bytes vary run to run. Rename keys (same length) in order of first use and re-emit the key
    list and the storage blocks in that order: the file torch would write if addresses increased."""
    import pickle
    import struct
    data = open(path, "rb").read()
    f = io.BytesIO(data)
    for _ in range(3):
        pickle.load(f)
    obj_start = f.tell()

    class Stub:
        def __init__(self, *a, **k):
            pass

    seen = []  # (key, element size) in order of first use

    class Scan(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "torch" and name.endswith("Storage"):
                return type(name, (Stub,), {})
            if module == "collections" and name == "OrderedDict":
                import collections
                return collections.OrderedDict
            return lambda *a, **k: None

        def persistent_load(self, pid):
            key = pid[2]
            if key not in [k for k, _ in seen]:
                seen.append((key, ELEMENT_SIZE[pid[1].__name__]))
            return None

    Scan(f).load()
    obj_end = f.tell()
    old_keys = pickle.load(f)
    blocks = {}
    for k in old_keys:
        (numel,) = struct.unpack("<q", f.read(8))
        size = dict(seen)[k]
        blocks[k] = struct.pack("<q", numel) + f.read(numel * size)
    assert f.read() == b""
    if len({len(k) for k, _ in seen}) != 1:
        return
    rename = {k: str(10 ** (len(k) - 1) + i) for i, (k, _) in enumerate(seen)}
    obj = data[obj_start:obj_end]
    for k, new in rename.items():
        obj = obj.replace(b"X" + struct.pack("<I", len(k)) + k.encode(),
                          b"X" + struct.pack("<I", len(new)) + new.encode())
    new_keys = sorted(rename.values())
    back = {v: k for k, v in rename.items()}
    out = data[:obj_start] + obj + pickle.dumps(new_keys, protocol=2)
    out += b"".join(blocks[back[k]] for k in new_keys)
    open(path, "wb").write(out)


def stored_zip(path, members):
    """A zip with fixed timestamps; members = [(name, bytes, compress_type)]."""
    with zipfile.ZipFile(path, "w") as z:
        for name, data, method in members:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)


def main(out_dir):
    sd = tiny_state_dict()
    expected = {}

    torch.save(sd, os.path.join(out_dir, "tiny_zip.pth"))
    buf = io.BytesIO()
    torch.save(sd, buf)
    with open(os.path.join(out_dir, "tiny_stream.pth"), "wb") as f:
        f.write(buf.getvalue())
    torch.save(sd, os.path.join(out_dir, "tiny_legacy.pth"), _use_new_zipfile_serialization=False)
    normalize_legacy_keys(os.path.join(out_dir, "tiny_legacy.pth"))
    for name in ("tiny_zip", "tiny_stream", "tiny_legacy"):
        expected[name] = describe(sd)

    sh = shared_object()
    torch.save(sh, os.path.join(out_dir, "shared.pth"))
    torch.save(sh, os.path.join(out_dir, "shared_legacy.pth"), _use_new_zipfile_serialization=False)
    normalize_legacy_keys(os.path.join(out_dir, "shared_legacy.pth"))
    expected["shared"] = describe(sh)
    expected["shared_legacy"] = describe(sh)

    torch.save({"epoch": 3, "lr": 0.1, "model": sd, "tags": ["a", "b"], "best": None},
               os.path.join(out_dir, "nested.pth"))
    expected["nested"] = describe(sd)

    base = torch.arange(12, dtype=torch.float32).view(3, 4)
    torch.save({"t": base.t()}, os.path.join(out_dir, "noncontig.pth"))

    from safetensors.torch import save_file
    st = dict(sd)
    st["half"] = sh["f16"]
    st["brain"] = sh["bf16"]
    save_file(st, os.path.join(out_dir, "tiny.safetensors"), metadata={"format": "pt"})
    expected["tiny_safetensors"] = describe(st)

    stored_zip(os.path.join(out_dir, "evil_global.pth"), [
        ("evil_global/data.pkl", EVIL_PKL, zipfile.ZIP_STORED),
        ("evil_global/version", b"3\n", zipfile.ZIP_STORED)])

    with zipfile.ZipFile(os.path.join(out_dir, "tiny_zip.pth")) as src:
        stored_zip(os.path.join(out_dir, "deflated.pth"), [
            (i.filename, src.read(i.filename),
             zipfile.ZIP_DEFLATED if i.filename.endswith("data.pkl") else zipfile.ZIP_STORED)
            for i in src.infolist()])

    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
    for n in sorted(os.listdir(out_dir)):
        print(f"  {n}: {os.path.getsize(os.path.join(out_dir, n))} bytes")
