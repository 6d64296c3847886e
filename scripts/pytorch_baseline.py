#!/usr/bin/env python3
"""pytorch_baseline.py — recompute an exported hgbench problem's hypergradient
in PyTorch, two ways, and compare with hgbench's:

  autograd  reverse mode: autograd through the unrolled inner loop
            (create_graph=True at every step), one backward pass at the end;
  forward   forward mode as in the official FDS code: tangents Z, U per
            learned value, the Hessian-tangent products by double backward,
            one column at a time, columns of windows not yet started skipped.

An export whose kinds are learned per layer or per weight (problem.json's
theta_layout, theta.npy) is recomputed by autograd with lr, mom and wd as
vectors over w (each layer's value repeated over its block, or each
weight's own); forward is skipped for it (status "skipped").

Usage: pytorch_baseline.py EXPORT_DIR [--threads N] [--repeats R] [--json FILE]
                           [--device cpu|cuda] [--warmup W] [--commit ID]
EXPORT_DIR is what `hgbench hypergrad --export DIR` wrote (problem.json and
.npy files). Prints one line per method: time (the median of R runs), and the max-norm relative
error against hgbench's hypergrad.npy. --device cuda: the same on the GPU
(tensors moved there once, before timing; each timed run ends with
torch.cuda.synchronize()), W untimed runs first (default 1 on cuda, 0 on
the CPU: CUDA's lazy initialisation is not the method's time). Exit 2 on a
bad export or a device PyTorch cannot use, 1 if a method fails (e.g. runs
out of memory), 0 otherwise. --json FILE opens with the members of hgbench's
result envelope (io/envelope.h: schema, program, commit, command, date,
threads, ranks, precision, device, machine), so that hgbench-report
(bench/report_pytorch.c) reads it as it reads hgbench's own results.
"""
import argparse
import json
import math
import os
import shlex
import socket
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

KINDS = ("lr", "mom", "wd")


def die(msg, code=2):
    print(f"pytorch_baseline: {msg}", file=sys.stderr)
    sys.exit(code)


def load(d):
    path = os.path.join(d, "problem.json")
    try:
        with open(path) as f:
            prob = json.load(f)
    except (OSError, ValueError) as e:
        die(f"{path}: {e}")
    arrays = {}
    names = ["w0", "train_x", "train_y", "batches", "val_x", "val_y", "hypergrad"]
    if "theta_layout" in prob:
        names.append("theta")
    for name in names:
        p = os.path.join(d, name + ".npy")
        try:
            arrays[name] = np.load(p)
        except (OSError, ValueError) as e:
            die(f"{p}: {e}")
    for key in ("layers", "params", "steps", "batch", "lr", "mom", "wd", "learn", "dtype"):
        if key not in prob:
            die(f"{path}: field '{key}' missing")
    return prob, arrays


def machine_record():
    """The members of io/machine.h's record that /proc/cpuinfo gives."""
    cpu, pus, cores, packages = "unknown", os.cpu_count() or 0, set(), set()
    try:
        phys = None
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                k, v = k.strip(), v.strip()
                if k == "model name":
                    cpu = v
                elif k == "physical id":
                    phys = v
                    packages.add(v)
                elif k == "core id":
                    cores.add((phys, v))
    except OSError:
        pass
    return {"host": socket.gethostname(), "cpu": cpu, "packages": max(len(packages), 1),
            "cores": len(cores) or pus, "pus": pus, "source": "/proc/cpuinfo"}


def envelope(o, dtype):
    """hgbench's result envelope (io/envelope.h), for --json."""
    return {"schema": "hgbench-results/1", "program": "pytorch_baseline.py",
            "commit": o.commit, "command": shlex.join([sys.executable] + sys.argv),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "threads": o.threads, "ranks": 1, "precision": dtype, "device": o.device,
            "machine": machine_record()}


def unflatten(w, params):
    return {p["name"]: w[p["offset"]:p["offset"] + p["count"]].view(*p["shape"]) for p in params}


def logits(layers, ps, x):
    for L in layers:
        t = L["type"]
        if t == "conv2d":
            x = F.conv2d(x, ps[L["weight"]], ps[L["bias"]], stride=L.get("stride", 1),
                         padding=L.get("padding", 0))
        elif t == "linear":
            x = F.linear(x, ps[L["weight"]], ps[L["bias"]])
        elif t == "relu":
            x = torch.relu(x)
        elif t == "tanh":
            x = torch.tanh(x)
        elif t == "maxpool":
            x = F.max_pool2d(x, L["kernel_size"], L.get("stride", L["kernel_size"]))
        elif t == "flatten":
            x = torch.flatten(x, 1)
        else:
            die(f"problem.json: layer type '{t}' unknown")
    return x


class Problem:
    def __init__(self, prob, arrays, dtype, device="cpu"):
        self.prob, self.T, self.dtype = prob, prob["steps"], dtype
        self.layers, self.params = prob["layers"], prob["params"]
        def put(a, t):
            return torch.tensor(a, dtype=t, device=device)
        self.w0 = put(arrays["w0"], dtype)
        self.train_x = put(arrays["train_x"], dtype)
        self.train_y = put(arrays["train_y"], torch.int64)
        self.batches = put(arrays["batches"], torch.int64)
        self.val_x = put(arrays["val_x"], dtype)
        self.val_y = put(arrays["val_y"], torch.int64)
        self.sched = {k: [float(v) for v in prob[k]] for k in KINDS}
        self.clamp = prob.get("clamp")
        self.learn = {k: int(prob["learn"][k]) for k in KINDS if k in prob["learn"]}
        # kinds per layer or per weight: theta.npy in theta_layout's order
        self.layout = {e["kind"]: e for e in prob.get("theta_layout", [])}
        self.theta0 = arrays.get("theta")
        # theta in hgbench's order: lr windows, then mom, then wd; a window's
        # value is the schedule's value at its steps (the export ran that)
        self.cols = []  # (kind, window, first step)
        for k in KINDS:
            K = self.learn.get(k, 0)
            for j in range(K):
                self.cols.append((k, j, (j * self.T + K - 1) // K))

    def window(self, kind, t):
        return t * self.learn[kind] // self.T

    def column(self, kind, t):
        if kind not in self.learn:
            return -1
        base = sum(self.learn.get(k, 0) for k in KINDS[:KINDS.index(kind)])
        return base + self.window(kind, t)

    def loss(self, w, x, y):
        return F.cross_entropy(logits(self.layers, unflatten(w, self.params), x), y)

    def batch(self, t):
        idx = self.batches[t]
        return self.train_x[idx], self.train_y[idx]

    def val_loss(self, w):
        total, n = 0.0, self.val_x.shape[0]
        for i in range(0, n, 1000):
            xb, yb = self.val_x[i:i + 1000], self.val_y[i:i + 1000]
            total = total + self.loss(w, xb, yb) * xb.shape[0]
        return total / n

    def clampg(self, g):
        return g if self.clamp is None else torch.clamp(g, -self.clamp, self.clamp)


def vector_value(P, theta, kind, t):
    """Step t's value of a kind learned per run, layer or weight, as theta_layout says."""
    e = P.layout[kind]
    j = t * e["windows"] // P.T
    part = theta[e["offset"] + j * e["width"]:e["offset"] + (j + 1) * e["width"]]
    if e["per"] == "run":
        return part[0]
    if e["per"] == "layer":
        starts = e["layer_starts"]
        sizes = torch.tensor([b - a for a, b in zip(starts, starts[1:])], device=part.device)
        return torch.repeat_interleave(part, sizes)
    return part  # per weight


def by_autograd_vector(P):
    """Reverse mode with lr, mom, wd as vectors over w (theta_layout)."""
    theta = torch.tensor(P.theta0, dtype=P.dtype, device=P.w0.device, requires_grad=True)
    w = P.w0.clone().requires_grad_(True)
    v = torch.zeros_like(w)
    for t in range(P.T):
        h = {k: vector_value(P, theta, k, t) if k in P.layout else P.sched[k][t] for k in KINDS}
        x, y = P.batch(t)
        g = torch.autograd.grad(P.loss(w, x, y), w, create_graph=True)[0]
        v = h["mom"] * v + P.clampg(g) + h["wd"] * w
        w = w - h["lr"] * v
    f = P.val_loss(w)
    return torch.autograd.grad(f, theta)[0].detach().cpu().numpy(), float(f)


def by_autograd(P):
    """Reverse mode through the unrolled loop (the whole graph is kept)."""
    if P.layout:
        return by_autograd_vector(P)
    theta = {k: torch.tensor([P.sched[k][s] for (kk, j, s) in P.cols if kk == k],
                             dtype=P.dtype, device=P.w0.device, requires_grad=True)
             for k in P.learn}
    w = P.w0.clone().requires_grad_(True)
    v = torch.zeros_like(w)
    for t in range(P.T):
        h = {k: theta[k][P.window(k, t)] if k in P.learn else P.sched[k][t] for k in KINDS}
        x, y = P.batch(t)
        g = torch.autograd.grad(P.loss(w, x, y), w, create_graph=True)[0]
        v = h["mom"] * v + P.clampg(g) + h["wd"] * w
        w = w - h["lr"] * v
    f = P.val_loss(w)
    grads = torch.autograd.grad(f, [theta[k] for k in KINDS if k in P.learn])
    return np.concatenate([g.detach().cpu().numpy() for g in grads]), float(f)


def by_forward_loop(P):
    """Forward mode, one column at a time (FDS's official code does this)."""
    N = len(P.cols)
    Z = [torch.zeros_like(P.w0) for _ in range(N)]
    U = [torch.zeros_like(P.w0) for _ in range(N)]
    w, v = P.w0.clone(), torch.zeros_like(P.w0)
    for t in range(P.T):
        a, m, l = P.sched["lr"][t], P.sched["mom"][t], P.sched["wd"][t]
        x, y = P.batch(t)
        wl = w.clone().requires_grad_(True)
        g = torch.autograd.grad(P.loss(wl, x, y), wl, create_graph=True)[0]
        mask = None if P.clamp is None else (g.detach().abs() < P.clamp).to(P.dtype)
        cm, cw, ca = P.column("mom", t), P.column("wd", t), P.column("lr", t)
        for c, (_, _, start) in enumerate(P.cols):
            if start > t:
                continue  # its window has not started: Z, U are still 0
            hz = torch.autograd.grad(g, wl, Z[c], retain_graph=True)[0]
            if mask is not None:
                hz = hz * mask
            U[c] = m * U[c] + hz + l * Z[c]
            if c == cm:
                U[c] = U[c] + v
            if c == cw:
                U[c] = U[c] + w
        gd = P.clampg(g.detach())
        v = m * v + gd + l * w
        w = w - a * v
        for c, (_, _, start) in enumerate(P.cols):
            if start > t:
                continue
            Z[c] = Z[c] - a * U[c]
            if c == ca:
                Z[c] = Z[c] - v
    wl = w.clone().requires_grad_(True)
    f = P.val_loss(wl)
    gv = torch.autograd.grad(f, wl)[0]
    return np.array([float(torch.dot(Z[c], gv)) for c in range(N)]), float(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("export_dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--methods", default="autograd,forward")
    ap.add_argument("--repeats", type=int, default=1,
                    help="runs per method; time_s is their median")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--commit", default="unknown", help="the commit to record in --json")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed runs of each method first (default 1 on cuda, 0 on cpu)")
    o = ap.parse_args()
    if o.repeats < 1:
        die(f"--repeats: {o.repeats} is not a positive count")
    warmup = o.warmup if o.warmup is not None else (1 if o.device == "cuda" else 0)
    if warmup < 0:
        die(f"--warmup: {warmup} is negative")
    if o.device == "cuda" and not torch.cuda.is_available():
        die(f"--device cuda: torch.cuda.is_available() is False (PyTorch {torch.__version__}, "
            f"built for CUDA {torch.version.cuda})")
    torch.set_num_threads(o.threads)
    prob, arrays = load(o.export_dir)
    dtype = torch.float64 if prob["dtype"] == "float64" else torch.float32
    P = Problem(prob, arrays, dtype, o.device)
    ref = arrays["hypergrad"].astype(np.float64)
    sync = torch.cuda.synchronize if o.device == "cuda" else (lambda: None)
    out = envelope(o, prob["dtype"])
    out.update({"export": o.export_dir, "torch": torch.__version__, "repeats": o.repeats,
           "warmup": warmup,
           "dtype": prob["dtype"], "steps": P.T, "batch": prob["batch"],
           "N": len(P.theta0) if P.layout else len(P.cols),
           "model": prob.get("model"), "methods": {}})
    if o.device == "cuda":
        out["gpu"] = torch.cuda.get_device_name()
        out["torch_cuda"] = torch.version.cuda
        out["cudnn"] = torch.backends.cudnn.version()
    status = 0
    for name in o.methods.split(","):
        fn = {"autograd": by_autograd, "forward": by_forward_loop}.get(name)
        if fn is None:
            die(f"--methods: '{name}' is not autograd or forward")
        if P.layout and fn is by_forward_loop:
            out["methods"][name] = {"status": "skipped",
                                    "error": "kinds per layer or weight: autograd only"}
            print(f"{name:9s} skipped: kinds per layer or weight (autograd only)")
            continue
        times = []
        try:
            for _ in range(warmup):
                fn(P)
            for _ in range(o.repeats):
                sync()
                t0 = time.perf_counter()
                hg, f = fn(P)
                sync()
                times.append(time.perf_counter() - t0)
        except (RuntimeError, MemoryError) as e:  # out of memory, mostly
            out["methods"][name] = {"status": "failed", "error": str(e).splitlines()[0]}
            print(f"{name:9s} failed: {e}", file=sys.stderr)
            status = 1
            continue
        dt = float(np.median(times))
        err = float(np.max(np.abs(hg - ref)) / max(np.max(np.abs(ref)), 1e-300))
        ok = all(math.isfinite(x) for x in hg)
        out["methods"][name] = {"status": "ok" if ok else "diverged", "time_s": dt,
                                "times_s": times,
                                "ms_per_step": 1e3 * dt / P.T, "max_rel_err": err,
                                "val_loss": f, "hypergrad": hg.tolist()}
        print(f"{name:9s} {dt:9.3f} s  {1e3 * dt / P.T:9.3f} ms/step  max rel err vs hgbench "
              f"{err:.3g}  val loss {f:.6f}")
    if o.json:
        tmp = f"{o.json}.tmp.{os.getpid()}"
        with open(tmp, "w") as fh:
            json.dump(out, fh, indent=1)
        os.replace(tmp, o.json)
    return status


if __name__ == "__main__":
    sys.exit(main())
