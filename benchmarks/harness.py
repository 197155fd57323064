"""Timing harness: alternating repeats across frameworks, medians and minimums, ratios, BLAS info.

Each case maps a framework name ("dynagrad", "torch", "numpy") to a zero-argument callable that runs one
iteration. Frameworks are timed in alternation (d, t, n, d, t, n, ...) so that drift in machine load
affects every column alike.

Alternating in one process needs care with threads. After a call returns, OpenBLAS's worker threads (NumPy's,
hence dynagrad's) spin for about 0.1 s of CPU before they sleep, and PyTorch's OpenMP workers for about
10 ms. On a 2-core machine a block timed right after the other library ran shares its cores with those
spinners: measured on the seed MLP, that made PyTorch's step 2x slower and dynagrad's 1.3x slower than
each runs alone. So when the timed library changes between BLAS thread pools, the harness first waits for
the other pool to go idle (``SETTLE_S``), then makes one untimed call so the timed library's own workers
are awake, as they are in a training loop.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field

BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
SETTLE_S = 0.15  # > OpenBLAS's spin-wait (~0.1 s measured: NumPy's OpenBLAS 0.3.31 on 2 cores)
# which thread pool a framework's BLAS uses, by the first word of its column ("torch", "torch step"); dynagrad
# and numpy share NumPy's
_POOL = {"torch": "torch"}


def reexec_without_blas_overrides() -> None:
    """This machine sets OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, which halve OpenBLAS's speed; benchmarks run
    without them. Re-exec the interpreter once with both removed (this command only)."""
    if any(v in os.environ for v in BLAS_VARS) and not os.environ.get("DYNAGRAD_BENCH_KEEP_BLAS_ENV"):
        env = {k: v for k, v in os.environ.items() if k not in BLAS_VARS}
        os.execve(sys.executable, [sys.executable, "-m", "benchmarks", *sys.argv[1:]], env)


def blas_info() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed (pip install threadpoolctl)"}]
    import numpy  # noqa: F401 - load NumPy's BLAS so it is listed
    info = []
    for lib in threadpool_info():
        info.append({k: lib.get(k) for k in ("internal_api", "version", "architecture", "num_threads",
                                             "filepath")})
    return info


def torch_or_none():
    try:
        import torch
        return torch
    except ImportError:
        return None


@dataclass
class Result:
    name: str
    times: dict = field(default_factory=dict)  # framework -> list of seconds per iteration
    threads: int | None = None  # the intra-op thread count every framework ran with

    def stat(self, fw: str) -> tuple[float, float]:
        t = self.times[fw]
        return statistics.median(t), min(t)

    def ratio(self, fw: str, base: str = "torch") -> float | None:
        if fw not in self.times or base not in self.times:
            return None
        return self.stat(fw)[0] / self.stat(base)[0]


def set_threads(torch, n: int) -> None:
    """Give PyTorch and dynagrad (hence NumPy's BLAS) the same intra-op thread count. An explicit count
    also stops dynagrad's pool from following other processes' load (see dynagrad/_threads.py)."""
    import dynagrad
    if torch is not None:
        torch.set_num_threads(n)
    dynagrad.set_num_threads(n)


def follow_load(n: int) -> None:
    """Back to dynagrad's default pool: ``n`` threads that shrink while other processes keep cores busy."""
    from dynagrad import _threads
    _threads._set(n)
    g = _threads._governor
    g.enabled = os.environ.get("DYNAGRAD_ADAPTIVE_THREADS", "1") != "0"
    g.ceiling = g.current = n
    g.last = None


# Wall time by default. ``--clock thread`` times the calling thread's CPU instead: at 1 thread every
# framework computes in that thread, so a loaded machine's descheduling stops counting (cache and memory
# contention still do). Not meaningful with more threads, which do their work elsewhere.
CLOCKS = {"wall": time.perf_counter, "thread": time.thread_time}
clock = time.perf_counter


def time_case(name: str, fns: dict, number: int, repeats: int, warmup: int = 1, threads: int | None = None) -> Result:
    res = Result(name, threads=threads)
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    pool = None
    for _ in range(repeats):
        for fw, fn in fns.items():
            if _POOL.get(fw.split()[0], "numpy") != pool:
                if pool is not None:
                    time.sleep(SETTLE_S)
                pool = _POOL.get(fw.split()[0], "numpy")
                fn()
            t0 = clock()
            for _ in range(number):
                fn()
            res.times.setdefault(fw, []).append((clock() - t0) / number)
    return res


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:8.2f} us"
    if s < 1:
        return f"{s * 1e3:8.2f} ms"
    return f"{s:8.3f} s "


def table(results: list[Result], frameworks: list[str]) -> str:
    head = f"| {'benchmark':34s} | {'threads':7s} |" + "".join(f" {fw + ' median':>16s} | {fw + ' min':>13s} |" for fw in frameworks)
    ratios = [fw for fw in frameworks if fw != "torch"] if "torch" in frameworks else []
    head += "".join(f" {fw + '/torch':>14s} |" for fw in ratios)
    lines = [head, "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"]
    for r in results:
        row = f"| {r.name:34s} | {r.threads or '-':>7} |"
        for fw in frameworks:
            if fw in r.times:
                med, mn = r.stat(fw)
                row += f" {fmt_time(med):>16s} | {fmt_time(mn):>13s} |"
            else:
                row += f" {'-':>16s} | {'-':>13s} |"
        for fw in ratios:
            q = r.ratio(fw)
            row += f" {f'{q:.2f}x' if q is not None else '-':>14s} |"
        lines.append(row)
    return "\n".join(lines)


def import_times(modules=("numpy", "dynagrad", "torch"), runs: int = 5) -> dict:
    """Median wall time of ``import MODULE`` in fresh interpreters (seconds)."""
    import subprocess
    code = "import time; t = time.perf_counter(); import {m}; print(time.perf_counter() - t)"
    out = {}
    for m in modules:
        times = []
        for _ in range(runs):
            proc = subprocess.run([sys.executable, "-c", code.format(m=m)], capture_output=True, text=True)
            if proc.returncode != 0:
                break
            times.append(float(proc.stdout.strip()))
        if times:
            out[m] = statistics.median(times)
    return out


def environment() -> dict:
    import numpy
    torch = torch_or_none()
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "numpy": numpy.__version__, "torch": getattr(torch, "__version__", None),
            "blas": blas_info(), "env_overrides": {v: os.environ.get(v) for v in BLAS_VARS}}


def save_json(path: str, results: list[Result], extra: dict) -> None:
    data = {"environment": environment(), **extra, "results": [
        {"name": r.name, "threads": r.threads, **{fw: {"median_s": r.stat(fw)[0], "min_s": r.stat(fw)[1], "repeats_s": r.times[fw]}
                             for fw in r.times},
         "ratio_vs_torch": {fw: r.ratio(fw) for fw in r.times if fw != "torch" and r.ratio(fw) is not None}}
        for r in results]}
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
