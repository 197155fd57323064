"""``dynagrad launch -n N script.py [args...]``: start N ranks of a script through MPI's launcher.

It runs ``mpiexec -n N [-f hostfile] python -m dynagrad.distributed._worker script.py args...``, with the
``mpiexec`` that the ``mpich`` wheel installs next to the Python executable. Each rank sees ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` as torchrun sets them; a rank that fails ends the
whole job (naming the rank) and the exit status is non-zero. On one machine, each rank gets
``OMP_NUM_THREADS = cores // N`` unless it is set.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig

_MISSING = ('dynagrad launch needs MPI\'s launcher (mpiexec), which is not installed: '
            'pip install "dynagrad[distributed]" (mpi4py and the mpich wheel)')


def find_mpiexec() -> str | None:
    """The ``mpiexec`` of the mpich wheel (next to the Python executable, or in this environment's or the
    user's scripts folder), then ``DYNAGRAD_MPIEXEC``, then one on PATH; None when there is none."""
    if os.environ.get("DYNAGRAD_MPIEXEC"):
        return os.environ["DYNAGRAD_MPIEXEC"]
    folders = [os.path.dirname(sys.executable), sysconfig.get_path("scripts")]
    try:
        folders.append(sysconfig.get_path("scripts", f"{os.name}_user"))
    except KeyError:
        pass
    for d in folders:
        exe = os.path.join(d, "mpiexec")
        if os.path.isfile(exe) and os.access(exe, os.X_OK):
            return exe
    return shutil.which("mpiexec")


def build_command(args: argparse.Namespace, mpiexec: str) -> list[str]:
    cmd = [mpiexec, "-n", str(args.nproc)]
    if args.hostfile:
        cmd += ["-f", args.hostfile]
    cmd += [sys.executable, "-m", "dynagrad.distributed._worker"]
    if args.torch:
        cmd.append("--torch")
    return cmd + [args.script] + list(args.args)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("-n", "--nproc", "--nproc-per-node", "--nproc_per_node", type=int, default=2,
                    dest="nproc", help="number of ranks (processes) to start (default 2)")
    ap.add_argument("-f", "--hostfile", default=None,
                    help="MPI host file (one host[:slots] per line): spread the ranks over several machines")
    ap.add_argument("--torch", action="store_true", help="run a PyTorch script unmodified: `import torch` "
                    "resolves to dynagrad (as with `dynagrad run`)")
    ap.add_argument("script", help="the Python script every rank runs")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")


def run(args: argparse.Namespace) -> int:
    """Start the job described by ``args`` (from a parser set up by :func:`add_arguments`); its exit status."""
    if args.nproc < 1:
        print("dynagrad launch: -n must be at least 1", file=sys.stderr)
        return 2
    mpiexec = find_mpiexec()
    if mpiexec is None:
        print(_MISSING, file=sys.stderr)
        return 1
    env = dict(os.environ)
    if not args.hostfile and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // args.nproc))
    try:
        return subprocess.call(build_command(args, mpiexec), env=env)
    except KeyboardInterrupt:
        return 130


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``dynagrad launch``: ``main(["-n", "2", "script.py", ...])`` returns the exit status."""
    ap = argparse.ArgumentParser(prog="dynagrad launch", description="Start N ranks of a script through "
                                 "MPI's launcher (mpiexec), on this machine or on the hosts of a host file.")
    add_arguments(ap)
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
