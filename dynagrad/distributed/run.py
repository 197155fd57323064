"""``torch.distributed.run`` (torchrun's command line) on dynagrad's MPI launcher.

``dynagrad run -m torch.distributed.run --nproc-per-node 2 train.py`` (or ``python -m
dynagrad.distributed.run ...``) starts the ranks as ``dynagrad launch --torch -n 2 train.py`` does, on this
machine, with torchrun's environment: ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``,
``MASTER_ADDR``, ``MASTER_PORT``, ``TORCHELASTIC_RUN_ID`` (so ``is_torchelastic_launched()`` is True).
torchrun's elastic features (restarts, several nodes joining a rendezvous, log redirection) have no
counterpart: the options that ask for them are refused with a message, the others are accepted.
"""
from __future__ import annotations

import argparse
import os
import sys

from . import launch

__all__ = ["get_args_parser", "main", "run"]


def get_args_parser() -> argparse.ArgumentParser:
    """torchrun's arguments (both spellings of each, as PyTorch accepts them)."""
    ap = argparse.ArgumentParser(prog="torchrun", description="Start the ranks of a training script on this "
                                 "machine (dynagrad: through MPI's launcher, as `dynagrad launch`).")
    ap.add_argument("--nnodes", default="1:1", help="must be 1 (dynagrad launch -f HOSTFILE spans machines)")
    ap.add_argument("--nproc-per-node", "--nproc_per_node", default="1", dest="nproc_per_node",
                    help="ranks to start: a number, or 'cpu'/'auto' for one per CPU")
    for name in ("--rdzv-backend", "--rdzv-endpoint", "--rdzv-conf", "--role", "--log-dir", "--local-addr",
                 "--logs-specs", "--numa-binding", "--signals-to-handle", "--event-log-handler",
                 "--local-ranks-filter", "--duplicate-stdout-filters", "--duplicate-stderr-filters",
                 "--start-method", "--monitor-interval", "--shutdown-timeout"):
        ap.add_argument(name, name.replace("-", "_").replace("__", "--"), default=None,
                        help=argparse.SUPPRESS)
    ap.add_argument("--rdzv-id", "--rdzv_id", default="none", dest="rdzv_id")
    ap.add_argument("--standalone", action="store_true")
    ap.add_argument("--max-restarts", "--max_restarts", type=int, default=0, dest="max_restarts")
    ap.add_argument("-m", "--module", action="store_true")
    ap.add_argument("--no-python", "--no_python", action="store_true", dest="no_python")
    ap.add_argument("--run-path", "--run_path", action="store_true", dest="run_path")
    ap.add_argument("-r", "--redirects", default="0")
    ap.add_argument("-t", "--tee", default="0")
    ap.add_argument("--node-rank", "--node_rank", type=int, default=0, dest="node_rank")
    ap.add_argument("--master-addr", "--master_addr", default="127.0.0.1", dest="master_addr")
    ap.add_argument("--master-port", "--master_port", type=int, default=29500, dest="master_port")
    ap.add_argument("--virtual-local-rank", "--virtual_local_rank", action="store_true")
    ap.add_argument("training_script")
    ap.add_argument("training_script_args", nargs=argparse.REMAINDER)
    return ap


def _refuse(what: str) -> int:
    print(f"torchrun (dynagrad.distributed.run): {what}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Start the job ``args`` (from :func:`get_args_parser`) describes; its exit status."""
    nodes = str(args.nnodes).split(":")
    if any(n != "1" for n in nodes):
        return _refuse(f"--nnodes {args.nnodes}: this launcher starts the ranks of one machine; for several, "
                       "use `dynagrad launch -f HOSTFILE -n N --torch script.py`")
    if args.module or args.no_python:
        return _refuse("-m/--module and --no-python are not supported: give the training script's path")
    if args.max_restarts:
        return _refuse("--max-restarts: dynagrad does not restart failed ranks (a failed rank ends the job)")
    n = args.nproc_per_node
    if n in ("cpu", "auto"):
        n = os.cpu_count() or 1
    elif n in ("gpu", "xpu"):
        return _refuse(f"--nproc-per-node {n}: there are no {n.upper()}s (dynagrad runs on the CPU)")
    try:
        n = int(n)
    except ValueError:
        return _refuse(f"--nproc-per-node {n!r}: expected a number, 'cpu' or 'auto'")
    os.environ.update(MASTER_ADDR=args.master_addr, MASTER_PORT=str(args.master_port),
                      TORCHELASTIC_RUN_ID=str(args.rdzv_id), GROUP_RANK="0", GROUP_WORLD_SIZE="1")
    return launch.run(argparse.Namespace(nproc=n, hostfile=None, torch=True, script=args.training_script,
                                         args=list(args.training_script_args)))


def main(args: list[str] | None = None) -> int:
    """torchrun's entry point: ``main(["--nproc-per-node", "2", "train.py"])`` returns the exit status."""
    return run(get_args_parser().parse_args(args))


if __name__ == "__main__":
    sys.exit(main())
