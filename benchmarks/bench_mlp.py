"""The seed MLP (784-128-64-10, cross-entropy, SGD with momentum 0.9) training step, in dynagrad, PyTorch
and hand-written NumPy, at batch 64 and 256, and a 60,000-sample epoch; peak memory in separate processes."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

import dynagrad

SIZES = (784, 128, 64, 10)


def init_weights(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    ws = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(fan_in)
        ws.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        ws.append(rng.uniform(-bound, bound, (fan_out,)).astype(np.float32))
    return ws


def data(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 784), dtype=np.float32), rng.integers(0, 10, n).astype(np.int64)


def framework_step(lib, weights, lr=0.01, momentum=0.9):
    """One training step closure for dynagrad or torch (same code: the APIs match)."""
    nn = lib.nn
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    with lib.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(lib.from_numpy(w.copy()))
    opt = lib.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


class NumpyMLP:
    """The reference: the same step written by hand in NumPy (what a framework can aim for)."""

    def __init__(self, weights, lr=0.01, momentum=0.9):
        self.p = [w.copy() for w in weights]
        self.v = [np.zeros_like(w) for w in weights]
        self.lr, self.m = lr, momentum

    def step(self, x, y):
        W1, b1, W2, b2, W3, b3 = self.p
        h1 = x @ W1.T + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ W2.T + b2
        a2 = np.maximum(h2, 0)
        z = a2 @ W3.T + b3
        z = z - z.max(1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(1, keepdims=True)
        n = len(y)
        loss = -np.log(p[np.arange(n), y]).mean()
        dz = p
        dz[np.arange(n), y] -= 1
        dz /= n
        gW3, gb3 = dz.T @ a2, dz.sum(0)
        da2 = dz @ W3
        da2 *= h2 > 0
        gW2, gb2 = da2.T @ a1, da2.sum(0)
        da1 = da2 @ W2
        da1 *= h1 > 0
        gW1, gb1 = da1.T @ x, da1.sum(0)
        for w, v, g in zip(self.p, self.v, (gW1, gb1, gW2, gb2, gW3, gb3)):
            v *= self.m
            v += g
            w -= self.lr * v
        return loss


def cases(torch) -> list[tuple[str, dict, int]]:
    weights = init_weights()
    out = []
    for batch in (64, 256):
        x, y = data(batch)
        fns = {"dynagrad": _bind(framework_step(dynagrad, weights), dynagrad, x, y)}
        if torch is not None:
            fns["torch"] = _bind(framework_step(torch, weights), torch, x, y)
        fns["numpy"] = (lambda m=NumpyMLP(weights), x=x, y=y: m.step(x, y))
        out.append((f"MLP train step, batch {batch}", fns, 200 if batch == 64 else 80))
    x, y = data(60000)
    epoch = {"dynagrad": _epoch(framework_step(dynagrad, weights), dynagrad, x, y)}
    if torch is not None:
        epoch["torch"] = _epoch(framework_step(torch, weights), torch, x, y)
    m = NumpyMLP(weights)
    epoch["numpy"] = lambda: [m.step(x[i:i + 64], y[i:i + 64]) for i in range(0, len(x), 64)]
    out.append(("MLP epoch, 60,000 samples, batch 64", epoch, 1))
    return out


def _bind(step, lib, x, y):
    tx, ty = lib.from_numpy(x), lib.from_numpy(y)
    return lambda: step(tx, ty)


def _epoch(step, lib, x, y):
    tx, ty = lib.from_numpy(x), lib.from_numpy(y)

    def run():
        for i in range(0, len(x), 64):
            step(tx[i:i + 64], ty[i:i + 64])
    return run


# -- peak memory, each framework in its own process ---------------------------------------------------

_CHILD = r"""
import sys, json
sys.path.insert(0, {root!r})
from benchmarks.bench_mlp import data, init_weights, framework_step, NumpyMLP
which = sys.argv[1]
x, y = data(60000)
w = init_weights()
if which == "numpy":
    m = NumpyMLP(w)
    run = lambda: [m.step(x[i:i + 64], y[i:i + 64]) for i in range(0, len(x), 64)]
else:
    lib = __import__(which)
    if which == "torch":
        lib.set_num_threads(2)
    step = framework_step(lib, w)
    tx, ty = lib.from_numpy(x), lib.from_numpy(y)
    run = lambda: [step(tx[i:i + 64], ty[i:i + 64]) for i in range(0, len(x), 64)]
def status(key):
    # VmHWM is this process's own peak (ru_maxrss would include the forking parent's)
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
base = status("VmRSS")
run()
print(json.dumps({{"peak_kb": status("VmHWM"), "before_epoch_kb": base}}))
"""


def peak_memory(frameworks) -> dict:
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    res = {}
    for fw in frameworks:
        proc = subprocess.run([sys.executable, "-c", _CHILD.format(root=root), fw], capture_output=True, text=True)
        if proc.returncode != 0:
            res[fw] = {"error": proc.stderr.strip().splitlines()[-1:]}
            continue
        res[fw] = json.loads(proc.stdout.strip().splitlines()[-1])
    return res
