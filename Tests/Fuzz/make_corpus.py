#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target to Tests/Fuzz/corpus/<target>/ (plain Python 3,
no torch needed: torch files are the committed fixtures or written opcode by opcode here).

Names: ok-* must parse, bad-* must be refused with a typed error, crash-* reproduce inputs that
once trapped the process (they must be refused now). Run from the repository root:
    python3 Tests/Fuzz/make_corpus.py
"""
import json, os, pickle, shutil, struct, zipfile, io, collections

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def fixture(*p):
    with open(os.path.join(FIX, *p), "rb") as f:
        return f.read()


# --- safetensors -------------------------------------------------------------------------
def safetensors(tensors, metadata=None):
    header, blobs, off = {}, b"", 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs += raw
        off += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + blobs


small = safetensors({"w": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
                     "n": ("I64", [], struct.pack("<q", 7)),
                     "h": ("BF16", [3], b"\x80\x3f\x00\x40\x40\x40")}, {"format": "pt"})
put("safetensors", "ok-small.safetensors", small)
put("safetensors", "ok-tiny.safetensors", fixture("weightio", "tiny.safetensors"))
put("safetensors", "ok-empty.safetensors", safetensors({}))
put("safetensors", "bad-header-length.safetensors", struct.pack("<Q", 10_000) + small[8:])

# --- zip ----------------------------------------------------------------------------------
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
    z.writestr(zipfile.ZipInfo("archive/data.pkl", date_time=(2020, 1, 1, 0, 0, 0)), b"\x80\x02}q\x00.")
    z.writestr(zipfile.ZipInfo("archive/data/0", date_time=(2020, 1, 1, 0, 0, 0)), b"\x00" * 16)
put("zip", "ok-stored.zip", buf.getvalue())
put("zip", "ok-tiny_zip.pth", fixture("weightio", "tiny_zip.pth"))
put("zip", "bad-not-a-zip.bin", b"PK\x03\x04" + b"\x00" * 30)

# --- pickle ---------------------------------------------------------------------------------
od = collections.OrderedDict([("a", 1), ("b", [1.5, "x", (1, 2, 3)]), ("c", {"d": None, "e": True})])
for proto in (2, 3, 4, 5):
    put("pickle", f"ok-proto{proto}.pkl", pickle.dumps({"x": [1, 2, (3, 4)], "y": "text", "z": 2**70, "w": -5,
                                                      "u": 1e-3}, protocol=proto))
put("pickle", "ok-ordereddict.pkl", pickle.dumps(od, protocol=2))
N = 30_000
put("pickle", "crash-deep-lists.pkl", b"\x80\x02" + b"]" * N + b"a" * (N - 1) + b".")
put("pickle", "crash-deep-tuples.pkl", b"\x80\x02)" + b"\x85" * N + b".")
put("pickle", "crash-deep-dicts.pkl", b"\x80\x02}" + b"K\x01}" * N + b"s" * N + b".")
# Top-down nesting through the memo: fill a list after it was nested in another one.
put("pickle", "bad-refill-nested.pkl", b"\x80\x02]q\x00]q\x01ah\x01]ah\x00.")
put("pickle", "bad-global.pkl", b"\x80\x02cos\nsystem\nq\x00.")
# Containers holding themselves (reference cycles leaked; found by libFuzzer's LeakSanitizer).
put("pickle", "bad-self-append.pkl", b"\x80\x02]q\x01]q\x00ah\x01ah\x01a]\xe0h\x00.")
put("pickle", "bad-self-dict.pkl", b"\x80\x02}q\x00h\x00K\x01h\x00s.")


# --- legacy torch files written opcode by opcode --------------------------------------------
def s(x):
    b = x.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def glob(mod, name):
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def tensor(storage_cls, key, numel, size):
    pid = b"(" + s("storage") + glob("torch", storage_cls) + s(key) + s("cpu") + b"J" + struct.pack("<i", numel) + b"Nt" + b"Q"
    return (glob("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + b"K\x00" + b"(K" + bytes([size]) + b"t" + b"(K\x01t"
            + b"\x89" + glob("collections", "OrderedDict") + b")R" + b"tR")


def legacy(entries, storages):
    magic = bytes([0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E])
    proto = b"\x80\x02M\xe9\x03."
    sysinfo = b"\x80\x02}(" + s("protocol_version") + b"M\xe9\x03" + s("little_endian") + b"\x88" + s("type_sizes") + b"}u."
    root = b"\x80\x02}(" + b"".join(s(k) + t for k, t in entries) + b"u."
    keys = b"\x80\x02](" + b"".join(s(k) for k, _ in storages) + b"e."
    raw = b"".join(struct.pack("<q", len(data) // size) + data for (_, (size, data)) in storages)
    return magic + proto + sysinfo + root + keys + raw


put("torch", "ok-one-storage.pth", legacy([("a", tensor("FloatStorage", "0", 4, 4)), ("b", tensor("FloatStorage", "0", 4, 4))],
                                          [("0", (4, struct.pack("<4f", 1, 2, 3, 4)))]))
# One storage read as float32 by one tensor and float64 by another (trapped in materialize).
put("torch", "crash-storage-two-dtypes.pth", legacy([("a", tensor("FloatStorage", "0", 4, 4)), ("b", tensor("DoubleStorage", "0", 4, 4))],
                                                    [("0", (4, struct.pack("<4f", 1, 2, 3, 4)))]))
put("torch", "bad-self-dict.pth", legacy([], [])[:-len(b"\x80\x02}(u.") - len(b"\x80\x02](e.")]
    + b"\x80\x02}q\x00h\x00K\x01h\x00s." + b"\x80\x02](e.")
for name in ("tiny_legacy.pth", "shared_legacy.pth", "tiny_zip.pth", "nested.pth", "shared.pth"):
    put("torch", "ok-" + name, fixture("weightio", name))
put("torch", "bad-evil_global.pth", fixture("weightio", "evil_global.pth"))

# --- YAML specs -----------------------------------------------------------------------------
spec_dir = os.path.join(FIX, "..", "..", "experiments", "demo")
for name in ("cifar10-resnet18.yaml", "sst2-distilbert.yaml"):
    with open(os.path.join(spec_dir, name), "rb") as f:
        put("spec", "ok-" + name, f.read())
put("spec", "bad-duplicate-key.yaml", b"name: a\nname: b\n")
put("spec", "bad-deep-flow.yaml", b"name: " + b"[" * 2000 + b"]" * 2000 + b"\n")
put("spec", "bad-tabs.yaml", b"name:\t[a\n\tb: {\n")

# --- CIFAR-10 ---------------------------------------------------------------------------------
rec = bytes([3]) + bytes((i * 7) % 256 for i in range(3072))
put("cifar", "ok-one-record.bin", rec)
put("cifar", "ok-two-records.bin", rec + bytes([9]) + rec[1:])
put("cifar", "bad-label.bin", bytes([10]) + rec[1:])
put("cifar", "ok-batches.meta.txt", "\n".join(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]) + "\n")
put("cifar", "bad-nine-names.meta.txt", "a\nb\nc\nd\ne\nf\ng\nh\ni\n")

# --- SST --------------------------------------------------------------------------------------
put("sst", "ok-stsa.txt", "1 a gripping , funny movie .\n0 dull and far too long\n")
put("sst", "ok-senteval.tsv", "a gripping , funny movie .\t1\ndull and far too long\t0\n")
put("sst", "ok-sst.jsonl", '{"text": "a gripping movie", "label": 1, "label_text": "positive"}\n{"text": "dull", "label": 0}\n')
put("sst", "ok-glue-train.tsv", "sentence\tlabel\nhide new secretions \t0\ncontains no wit \t0\n")
put("sst", "ok-glue-test.tsv", "index\tsentence\n0\tuneasy mishmash of styles\n1\tthis film 's relationship\n")
put("sst", "bad-label-2.txt", "2 neither\n")

# --- vocab.txt / tokenizer ----------------------------------------------------------------------
put("vocab", "ok-fixture-vocab.txt", fixture("tokenizer", "vocab.txt"))
put("vocab", "ok-small-vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nmovie\n##s\nun\n##believ\n##able\nÉté\n中\n")
put("vocab", "bad-no-specials.txt", "the\nmovie\n")
put("vocab", "bad-latin1.txt", b"[PAD]\n[UNK]\n[CLS]\n[SEP]\ncaf\xe9\n")
