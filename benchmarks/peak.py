"""Peak resident memory of the model workloads' training steps, one framework per process.

``python -m benchmarks.peak WORKLOAD FRAMEWORK THREADS STEPS`` builds one workload of bench_models for
one framework (the other is never imported, so its libraries do not count), runs STEPS training steps and
prints the process's peak resident set (VmHWM) and its resident set before the first step, in KiB, as JSON.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _status(key: str) -> int:
    # VmHWM is this process's own peak (ru_maxrss would include the forking parent's)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def run(name: str, framework: str, threads: int, steps: int) -> dict:
    import numpy as np

    from .bench_models import WORKLOADS
    lib = __import__(framework)
    lib.set_num_threads(threads)
    lib.manual_seed(0)
    model, make_step = WORKLOADS[name][0](lib, np.random.default_rng(0))
    step = make_step(model)
    before = _status("VmRSS")
    for _ in range(steps):
        step()
    return {"peak_kb": _status("VmHWM"), "before_kb": before}


def workloads(frameworks: list[str], threads: int, steps: int = 3, names=None) -> dict:
    """{workload: {framework: {peak_kb, before_kb} or {error}}} for the workloads named in
    ``bench_models.MEMORY_WORKLOADS`` (or ``names``)."""
    from .bench_models import MEMORY_WORKLOADS
    out = {}
    for name in names or MEMORY_WORKLOADS:
        row = out[name] = {}
        for fw in frameworks:
            proc = subprocess.run([sys.executable, "-m", "benchmarks.peak", name, fw, str(threads), str(steps)],
                                  cwd=ROOT, capture_output=True, text=True)
            if proc.returncode != 0:
                row[fw] = {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
            else:
                row[fw] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def table(data: dict) -> str:
    lines = []
    for name, row in data.items():
        parts = []
        for fw, m in row.items():
            if "peak_kb" in m:
                parts.append(f"{fw} {m['peak_kb'] / 1024:.0f} MiB (+{(m['peak_kb'] - m['before_kb']) / 1024:.0f})")
            else:
                parts.append(f"{fw} failed: {m['error']}")
        ratio = ""
        d, t = row.get("dynagrad", {}), row.get("torch", {})
        if "peak_kb" in d and "peak_kb" in t:
            ratio = f": {d['peak_kb'] / t['peak_kb']:.2f}x PyTorch's"
        lines.append(f"  {name}: " + ", ".join(parts) + ratio)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    workload, fw, n_threads, n_steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(run(workload, fw, n_threads, n_steps)))
