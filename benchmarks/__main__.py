"""``python -m benchmarks``: dynagrad vs PyTorch (when installed) vs NumPy, side by side in one run.

Unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for this command only (this machine sets them and they
halve OpenBLAS's speed), prints the BLAS library and kernel in use, a table of medians, minimums and
ratios, and writes the numbers to a JSON file.
"""
from __future__ import annotations

import argparse
import json
import sys

from . import harness


def main(argv=None) -> int:
    harness.reexec_without_blas_overrides()
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="ops", help="comma-separated suites: ops")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    ap.add_argument("--json", default="benchmarks/results.json", help="where to write the numbers")
    args = ap.parse_args(argv)
    torch = harness.torch_or_none()
    if torch is not None:
        torch.set_num_threads(2)
    env = harness.environment()
    print("BLAS:", json.dumps(env["blas"]))
    print("OPENBLAS overrides in this process:", env["env_overrides"])
    print(f"numpy {env['numpy']}, torch {env['torch'] or 'not installed'}, python {env['python']}, "
          f"{env['cpus']} CPUs")
    results = []
    suites = args.only.split(",")
    if "ops" in suites:
        from . import bench_ops
        for name, fns, number in bench_ops.cases(torch):
            n = max(1, number // (20 if args.quick else 1))
            results.append(harness.time_case(name, fns, n, 3 if args.quick else args.repeats))
    frameworks = [fw for fw in ("dynagrad", "torch", "numpy") if any(fw in r.times for r in results)]
    print(harness.table(results, frameworks))
    harness.save_json(args.json, results, {"suites": suites})
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
