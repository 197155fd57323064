"""``python -m benchmarks``: dynagrad vs PyTorch (when installed) vs NumPy, side by side in one run.

Unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for this command only (this machine sets them and they
halve OpenBLAS's speed), prints the BLAS library and kernel in use, a table of medians, minimums and
ratios, and writes the numbers to a JSON file.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from . import harness

# suite name -> module in benchmarks/ with cases(torch) -> [(name, {framework: fn}, iterations)]
SUITES = {"ops": "bench_ops", "mlp": "bench_mlp", "conv": "bench_conv", "seq": "bench_seq",
          "models": "bench_models", "func": "bench_func", "compile": "bench_compile"}


def main(argv=None) -> int:
    harness.reexec_without_blas_overrides()
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    ap.add_argument("--only", default=",".join(SUITES),
                    help=f"comma-separated suites from: {', '.join(SUITES)}, memory, blas, floor")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    ap.add_argument("--json", default="benchmarks/results.json", help="where to write the numbers")
    ap.add_argument("--threads", default="1,2",
                    help="comma-separated intra-op thread counts; every suite runs at each, both frameworks alike")
    ap.add_argument("--clock", choices=sorted(harness.CLOCKS), default="wall",
                    help="wall time, or the calling thread's CPU time (1 thread on a loaded machine)")
    args = ap.parse_args(argv)
    harness.clock = harness.CLOCKS[args.clock]
    thread_counts = [int(n) for n in args.threads.split(",")]
    torch = harness.torch_or_none()
    env = harness.environment()
    print("BLAS:", json.dumps(env["blas"]))
    print("OPENBLAS overrides in this process:", env["env_overrides"])
    print(f"numpy {env['numpy']}, torch {env['torch'] or 'not installed'}, python {env['python']}, "
          f"{env['cpus']} CPUs")
    results = []
    suites = args.only.split(",")
    everything = args.only == ",".join(SUITES)
    floor = [] if torch is not None and ("floor" in suites or everything) else None
    for threads in thread_counts:
        harness.set_threads(torch, threads)
        print(f"-- {threads} thread{'s' if threads > 1 else ''} (dynagrad and PyTorch)", flush=True)
        for suite in suites:
            if suite not in SUITES:
                continue
            try:
                module = importlib.import_module(f"benchmarks.{SUITES[suite]}")
            except ImportError as e:
                print(f"[{suite}] skipped: {e}")
                continue
            for name, fns, number in module.cases(torch):
                n = max(1, number // (20 if args.quick else 1))
                reps = 3 if args.quick else (min(args.repeats, 5) if number == 1 else args.repeats)
                results.append(harness.time_case(name, fns, n, reps, threads=threads))
                print(f"  measured: {name}", flush=True)
        if floor is not None:
            from . import bench_floor
            floor += bench_floor.floors(torch, threads, repeats=3 if args.quick else 5)
            print("  measured: the BLAS floor of the model workloads", flush=True)
    full = max(thread_counts)
    harness.follow_load(full)  # the memory, BLAS and busy-core rows measure dynagrad's default pool
    if torch is not None:
        torch.set_num_threads(full)
    memory = model_memory = None
    if "memory" in suites or everything:
        from . import bench_mlp, peak
        memory = bench_mlp.peak_memory([fw for fw in ("dynagrad", "torch", "numpy")
                                        if fw != "torch" or torch is not None])
        model_memory = peak.workloads(["dynagrad"] + (["torch"] if torch is not None else []), full,
                                      steps=2 if args.quick else 3)
    blas = None
    if "blas" in suites or everything:
        from . import bench_blas
        blas = bench_blas.sweep(repeats=3 if args.quick else 5, quick=args.quick)
        busy = bench_blas.busy_mlp(torch, 3 if args.quick else args.repeats, args.quick)
        busy.threads = full
        results.append(busy)
    frameworks = [fw for fw in ("dynagrad", "dynagrad compiled", "torch", "numpy")
                  if any(fw in r.times for r in results)]
    print(harness.table(results, frameworks))
    if memory:
        print("\nPeak resident memory of the MLP epoch, 60,000 x 784 float32 inputs (188 MiB) included "
              "(separate processes, VmHWM):")
        base = memory.get("torch", {}).get("peak_kb")
        for fw, m in memory.items():
            if "peak_kb" in m:
                ratio = f"  ({m['peak_kb'] / base:.2f}x torch)" if base else ""
                extra = (m["peak_kb"] - m["before_epoch_kb"]) / 1024
                print(f"  {fw:9s} {m['peak_kb'] / 1024:8.1f} MiB{ratio}; the epoch added {extra:.1f} MiB")
            else:
                print(f"  {fw:9s} failed: {m['error']}")
    if model_memory:
        print("\nPeak resident memory of training steps (separate processes, VmHWM; growth over the process "
              "before the first step in brackets):")
        print(peak.table(model_memory))
    if blas:
        print("\nBLAS threads per matmul shape (float32, NumPy's BLAS as dynagrad uses it; alternating, medians):")
        print(bench_blas.table(blas))
    if floor:
        print("\nThe BLAS floor: each model step's matrix products alone (shapes from PyTorch's profiler), in "
              "NumPy's BLAS (dynagrad's) and PyTorch's, over PyTorch's whole step:")
        print(bench_floor.table(floor))
    imports = harness.import_times()
    print("\nImport time, median of 5 fresh interpreters: " +
          ", ".join(f"{mod} {secs:.3f} s" for mod, secs in imports.items()))
    harness.save_json(args.json, results, {"suites": suites, "threads": thread_counts, "clock": args.clock,
                                           "peak_memory": memory, "peak_memory_models": model_memory,
                                           "blas_threads": blas, "blas_floor": floor, "import_seconds": imports})
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
