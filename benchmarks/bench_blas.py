"""One BLAS thread or all of them, per matmul shape: does choosing the thread count by size pay?

The shapes are the seed models' products (MLP 784-128-64-10 forward and backward at batch 64 and 256,
the GRU's and LSTM's gate products, the Transformer's feed-forward). Each is timed with 1 thread and with the CPU count,
alternating, first on a quiet machine, then with one core kept busy by another process (as DataLoader
workers or other ranks do). Between thread-count switches the harness waits for OpenBLAS's spinning
workers to sleep. dynagrad keeps OpenBLAS's own choice (see dynagrad/_threads.py); this suite is the
measurement behind that.
"""
from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import dynagrad
from dynagrad import _threads

from . import harness
from .harness import SETTLE_S

SHAPES = [  # (label, m, k, n): an (m, k) @ (k, n) product
    ("MLP fc1 forward, batch 64", 64, 784, 128),
    ("MLP fc1 weight grad, batch 64", 784, 64, 128),
    ("MLP fc1 input grad, batch 64", 64, 128, 784),
    ("MLP fc2 forward, batch 64", 64, 128, 64),
    ("MLP fc1 forward, batch 256", 256, 784, 128),
    ("GRU hidden gates (B32, h128)", 32, 128, 384),
    ("GRU input gates, all steps (T35 B32)", 1120, 32, 384),
    ("LSTM LM hidden gates (B32, h128)", 32, 128, 512),
    ("Transformer FFN (5x32 tokens, 32->128)", 160, 32, 128),
]


def _time(fn, number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def sweep(repeats: int = 5, quick: bool = False) -> list[dict]:
    """Rows of {shape, condition, one_thread_s, all_threads_s} (medians)."""
    full = dynagrad.get_num_threads()
    adaptive, _threads._governor.enabled = _threads._governor.enabled, False  # fixed counts here
    rng = np.random.default_rng(0)
    rows = []
    try:
        for condition in ("quiet", "one core busy"):
            with busy_core() if condition == "one core busy" else contextlib.nullcontext():
                for label, m, k, n in SHAPES:
                    a = rng.standard_normal((m, k), dtype=np.float32)
                    b = rng.standard_normal((k, n), dtype=np.float32)
                    number = max(5, int((2e6 if quick else 2e7) / (m * k * n) * 10))
                    times = {1: [], full: []}
                    for _ in range(repeats):
                        for threads in times:
                            _threads._set(threads)
                            time.sleep(SETTLE_S)
                            a @ b
                            times[threads].append(_time(lambda a=a, b=b: a @ b, number))
                    rows.append({"shape": f"{label}: {m}x{k} @ {k}x{n}", "condition": condition,
                                 "threads": full, "one_thread_s": statistics.median(times[1]),
                                 "all_threads_s": statistics.median(times[full])})
    finally:
        _threads._set(full)
        _threads._governor.enabled = adaptive
    return rows


class busy_core:
    """Keep one core busy with another process while the block runs."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def busy_mlp(torch, repeats: int, quick: bool) -> harness.Result:
    """The MLP step at batch 64 while another process keeps one core busy (as DataLoader workers do).

    dynagrad's pool is what the environment sets: fixed by default, following the load with
    DYNAGRAD_ADAPTIVE_THREADS=1 (dynagrad/_threads.py); PyTorch keeps its 2 OpenMP threads. NumPy shares
    dynagrad's OpenBLAS, so its column runs on whatever pool size dynagrad last chose.
    """
    from .bench_mlp import cases
    fns = cases(torch)[0][1]
    with busy_core():
        for _ in range(20):  # an opted-in pool sees the load: its governor looks every half second
            fns["dynagrad"]()
            time.sleep(0.05)
        return harness.time_case("MLP train step, batch 64, one core busy", fns, 10 if quick else 100, repeats)


def table(rows: list[dict]) -> str:
    full = rows[0]["threads"] if rows else os.cpu_count()
    lines = [f"| {'matmul shape':62s} | {'condition':13s} | {'1 thread':>10s} | {f'{full} threads':>10s} | "
             f"{f'{full}/1':>6s} |", "|" + "-" * 64 + "|" + "-" * 15 + "|" + "-" * 12 + "|" + "-" * 12 + "|"
             + "-" * 8 + "|"]
    for r in rows:
        one, many = r["one_thread_s"], r["all_threads_s"]
        lines.append(f"| {r['shape']:62s} | {r['condition']:13s} | {one * 1e6:7.1f} us | {many * 1e6:7.1f} us | "
                     f"{many / one:5.2f}x |")
    return "\n".join(lines)
