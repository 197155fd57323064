"""Distributed benchmarks: allreduce time and bandwidth (1 KB to 64 MB) over MPI on 2 ranks, and the 2-rank
speedup of a DistributedDataParallel epoch of the seed MLP (784-128-64-10, SGD with momentum) on 60,000
synthetic MNIST-sized samples.

    python -m benchmarks.bench_dist [--quick]

It starts the MPI jobs itself (the mpiexec of the mpich wheel) and runs without OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE, which slow OpenBLAS down on this machine.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time

import numpy as np

BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
SIZES = [2 ** k for k in range(10, 27, 2)]  # 1 KiB .. 64 MiB


def _launch(n: int, args: list[str], threads: int) -> dict:
    """Run ``python -m benchmarks.bench_dist --worker ...`` on n ranks; rank 0 prints one JSON line."""
    from dynagrad.distributed.launch import find_mpiexec

    env = {k: v for k, v in os.environ.items() if k not in BLAS_VARS}
    env["OMP_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, "-m", "benchmarks.bench_dist", "--worker", *args]
    if n > 1:
        mpiexec = find_mpiexec()
        if mpiexec is None:
            raise SystemExit('needs MPI: pip install "dynagrad[distributed]"')
        cmd = [mpiexec, "-n", str(n)] + cmd
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if out.returncode != 0:
        raise SystemExit(f"benchmark job failed:\n{out.stdout}\n{out.stderr}")
    return json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])


# -- workers (run under mpiexec) -----------------------------------------------------------------------------

def _time(fns: dict, reps: int) -> dict:
    """Median seconds per call of each function, timed in alternation so drift affects all alike."""
    ts = {k: [] for k in fns}
    for rep in range(reps + 1):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            if rep:  # the first round warms up
                ts[k].append(time.perf_counter() - t)
    return {k: float(np.median(v)) for k, v in ts.items()}


def worker_allreduce(quick: bool) -> dict:
    from mpi4py import MPI

    import dynagrad
    import dynagrad.distributed as dist
    from dynagrad.distributed import distributed_c10d as c10d

    dist.init_process_group("mpi")
    g = c10d._group(None)
    rows = []
    for nbytes in SIZES:
        t = dynagrad.ones(nbytes // 4)
        reps = max(3, min(200, (2 ** 22) // nbytes)) // (4 if quick else 1) + 1

        def ours(t=t):
            dist.all_reduce(t)

        def raw(t=t):  # mpi4py's blocking Allreduce on the same array: the floor
            g._comm.Allreduce(MPI.IN_PLACE, t._data, MPI.SUM)

        def unchecked(t=t):
            g._check = False
            dist.all_reduce(t)
            g._check = True

        def async_(t=t):
            dist.all_reduce(t, async_op=True).wait()
        dist.barrier()
        row = {"bytes": nbytes, **_time({"dynagrad": ours, "unchecked": unchecked, "async": async_,
                                         "mpi4py": raw}, reps)}
        rows.append(row)
    return {"allreduce": rows, "world": dist.get_world_size()}


def worker_torch_allreduce(quick: bool) -> dict:
    """The same all_reduce in PyTorch over gloo (TCP on 127.0.0.1), for comparison."""
    import torch
    import torch.distributed as tdist

    torch.set_num_threads(1)
    tdist.init_process_group("gloo")
    out = {}
    for nbytes in SIZES:
        t = torch.ones(nbytes // 4)
        reps = max(3, min(200, (2 ** 22) // nbytes)) // (4 if quick else 1) + 1
        tdist.barrier()
        out[nbytes] = _time({"torch": lambda t=t: tdist.all_reduce(t)}, reps)["torch"]
    tdist.destroy_process_group()
    return {"torch": out}


def _launch_torch(quick: bool) -> dict | None:
    """Two plain processes running worker_torch_allreduce (None when torch is not installed)."""
    import importlib.util
    import socket

    if importlib.util.find_spec("torch") is None:
        return None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = {k: v for k, v in os.environ.items() if k not in BLAS_VARS}
    base.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "benchmarks.bench_dist", "--worker", "torch_allreduce"] + (["quick"] if quick else [])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    procs = [subprocess.Popen(cmd, env={**base, "RANK": str(r)}, cwd=root, stdout=subprocess.PIPE, text=True)
             for r in range(2)]
    outs = [p.communicate(timeout=900)[0] for p in procs]
    if any(p.returncode for p in procs):
        return None
    res = json.loads([line for line in outs[0].splitlines() if line.startswith("{")][-1])["torch"]
    return {int(k): v for k, v in res.items()}


def worker_mlp(per_rank_batch: int, n_samples: int, epochs: int, sync: bool = True) -> dict:
    import dynagrad as torch
    from dynagrad import nn
    from dynagrad.utils.data import DistributedSampler

    distributed = "PMI_RANK" in os.environ
    if distributed:
        import dynagrad.distributed as dist
        dist.init_process_group("mpi")
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = 0, 1
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n_samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, n_samples).astype(np.int64)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    net = nn.parallel.DistributedDataParallel(model) if distributed else model
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    sampler = DistributedSampler(range(n_samples), world, rank, shuffle=True)
    times = []
    for epoch in range(epochs + 1):  # epoch 0 warms up (on a tenth of the data)
        sampler.set_epoch(epoch)
        idx = np.fromiter(sampler, np.int64)
        if epoch == 0:
            idx = idx[: len(idx) // 10]
        xs, ys = torch.from_numpy(x[idx]), torch.from_numpy(y[idx])
        if distributed:
            dist.barrier()
        t = time.perf_counter()
        with net.no_sync() if distributed and not sync else contextlib.nullcontext():
            for i in range(0, len(idx), per_rank_batch):
                opt.zero_grad()
                loss_fn(net(xs[i:i + per_rank_batch]), ys[i:i + per_rank_batch]).backward()
                opt.step()
        if distributed:
            dist.barrier()
        times.append(time.perf_counter() - t)
    # the best epoch: other load on the machine only ever adds time
    return {"epoch_s": float(np.min(times[1:])), "median_s": float(np.median(times[1:])), "world": world}


# -- the report ----------------------------------------------------------------------------------------------

def _fmt_bytes(n: int) -> str:
    return f"{n // 2 ** 20} MB" if n >= 2 ** 20 else f"{n // 2 ** 10} KB"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_dist", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, a 6,000-sample epoch")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--json", default=None, help="also write the numbers to this file")
    args = ap.parse_args(argv)
    if args.worker:
        kind, *rest = args.worker
        if kind == "allreduce":
            res = worker_allreduce(rest == ["quick"])
        elif kind == "torch_allreduce":
            res = worker_torch_allreduce(rest == ["quick"])
        else:
            res = worker_mlp(int(rest[0]), int(rest[1]), int(rest[2]), rest[3:] != ["nosync"])
        if os.environ.get("PMI_RANK", os.environ.get("RANK", "0")) == "0":
            print(json.dumps(res), flush=True)
        return 0

    cores = os.cpu_count() or 1
    print(f"{cores} CPUs, load average {os.getloadavg()[0]:.1f}; MPI: the mpich wheel; OpenBLAS overrides "
          "removed for the jobs")
    ar = _launch(2, ["allreduce"] + (["quick"] if args.quick else []), 1)
    gloo = _launch_torch(args.quick) or {}
    print("\nall_reduce (SUM, float32) on 2 ranks, median time per call; algbw = bytes / time, "
          "busbw = algbw * 2(n-1)/n")
    print(f"{'size':>7} | {'dynagrad':>9} | {'busbw':>10} | {'no check':>9} | {'async':>9} | {'mpi4py':>9} | "
          f"{'check costs':>11} | {'torch gloo':>10}")
    for r in ar["allreduce"]:
        t = r["dynagrad"]
        bus = r["bytes"] / t / 1e9  # 2(n-1)/n == 1 for n == 2
        us = {k: r[k] * 1e6 for k in ("unchecked", "async", "mpi4py")}
        print(f"{_fmt_bytes(r['bytes']):>7} | {t * 1e6:>7.1f}us | {bus:>6.2f} GB/s | "
              f"{us['unchecked']:>7.1f}us | {us['async']:>7.1f}us | {us['mpi4py']:>7.1f}us | "
              f"{t * 1e6 - us['unchecked']:>9.1f}us | "
              + (f"{gloo[r['bytes']] * 1e6:>8.1f}us" if r["bytes"] in gloo else f"{'-':>10}"))

    n = 6000 if args.quick else 60000
    epochs = 1 if args.quick else 5
    print(f"\nseed MLP, one epoch of {n:,} samples (best of {epochs} epochs; median in brackets), "
          "SGD momentum 0.9")
    half = max(1, cores // 2)
    jobs = [("1 process, batch 64, 1 thread", 1, ["64"], 1),
            (f"1 process, batch 64, {cores} threads", 1, ["64"], cores),
            ("2 ranks x batch 32 (global 64)", 2, ["32"], half),
            ("2 ranks x batch 32, no_sync (compute only)", 2, ["32", "nosync"], half),
            ("2 ranks x batch 64 (global 128)", 2, ["64"], half)]
    rows = {}
    for name, ranks, (batch, *extra), threads in jobs:
        rows[name] = _launch(ranks, ["mlp", batch, str(n), str(epochs), *extra], threads)
    best = min(rows[jobs[0][0]]["epoch_s"], rows[jobs[1][0]]["epoch_s"])
    for name, r in rows.items():
        print(f"{name:<44} {r['epoch_s']:>6.2f} s ({r['median_s']:.2f})   speedup vs best single process "
              f"{best / r['epoch_s']:>5.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"allreduce": ar["allreduce"], "torch_gloo_allreduce": gloo, "mlp_epoch": rows}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
