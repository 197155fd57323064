"""The ``dynagrad`` command: ``train``, ``run``, ``inspect``, ``bench``.

    dynagrad train [--model mlp] [--epochs 15]     train a seed model on the bundled digits
    dynagrad run script.py [args...]               run a PyTorch script with `torch` resolving to dynagrad
    dynagrad run -m module [args...]               the same for a module (pytest, a package's __main__)
    dynagrad inspect FILE                          what a checkpoint holds and its format, without loading data
    dynagrad launch -n N script.py [args...]       N data-parallel ranks through MPI's mpiexec
    dynagrad bench [--only ops,...]                the side-by-side benchmarks (from a source checkout)
"""
from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.util
import os
import sys

# -- dynagrad run ----------------------------------------------------------------------------------------------

class TorchAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Make ``import torch`` / ``import torch.X`` (and ``torchvision``) resolve to dynagrad's modules."""

    PREFIXES = {"torch": "dynagrad", "torchvision": "dynagrad.vision"}

    def find_spec(self, name, path, target=None):
        head = name.split(".", 1)[0]
        if head in self.PREFIXES:
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        head, _, rest = spec.name.partition(".")
        target = self.PREFIXES[head] + ("." + rest if rest else "")
        try:
            return importlib.import_module(target)
        except ModuleNotFoundError as e:
            if e.name and (e.name == target or target.startswith(e.name + ".")):
                raise ModuleNotFoundError(f"No module named '{spec.name}': dynagrad does not implement this part "
                                          f"of PyTorch (it would be {target})", name=spec.name) from None
            raise

    def exec_module(self, module):
        pass


def cmd_run(args) -> int:
    from .compile import harness  # --compile: every top-level module call compiled; --compile-check: vs eager
    if harness.run_mode(args.compile) == "check":
        return harness.check(args.script, list(args.args), args.max_calls, module=args.module)
    from . import _run
    _run.install(TorchAlias)
    return _run.run(args.script, args.module, list(args.args))


# -- dynagrad inspect ------------------------------------------------------------------------------------------

def cmd_inspect(args) -> int:
    """Tensors and every other entry of a checkpoint (any format dynagrad reads), and which format it is."""
    from . import serialization
    try:
        entries = serialization.inspect_file(args.file)
    except (OSError, ValueError) as e:  # CheckpointError is a ValueError
        print(f"dynagrad inspect: {e}", file=sys.stderr)
        return 1
    print(serialization.format_inspection(entries, args.file))
    return 0


# -- dynagrad bench --------------------------------------------------------------------------------------------

def cmd_bench(args) -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.isdir(os.path.join(root, "benchmarks")):
        print("dynagrad bench runs the benchmarks/ folder of a source checkout (git clone the repository); it "
              "is not part of the installed package.", file=sys.stderr)
        return 1
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    os.chdir(root)
    os.execve(sys.executable, [sys.executable, "-m", "benchmarks", *args.args], env)
    return 0


# -- dynagrad train --------------------------------------------------------------------------------------------

def cmd_train(args) -> int:
    from . import _train
    return _train.main(args)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="dynagrad", description="dynagrad: define-by-run deep learning on NumPy")
    sub = ap.add_subparsers(dest="command", required=True)

    tr = sub.add_parser("train", help="train a seed model on the bundled 8x8 digits",
                        description="Train a seed model on the bundled 8x8 digits; write a checkpoint, the training "
                                    "curves (PNG), drawings of the graph and TensorBoard logs, and say where.",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    from . import _train
    _train.add_arguments(tr)
    tr.set_defaults(fn=cmd_train)

    rn = sub.add_parser("run", help="run a PyTorch script (or -m module) with `torch` resolving to dynagrad")
    rn.add_argument("-m", dest="module", default=None, metavar="module",
                    help="run a module as `python -m` does (its arguments follow it)")
    rn.add_argument("--compile", action="store_const", const="all", default=None,
                    help="compile every top-level nn.Module call (dynagrad.compile)")
    rn.add_argument("--compile-check", dest="compile", action="store_const", const="check",
                    help="run the script eagerly and with --compile, and compare the two (exit status 1 on a "
                         "difference)")
    rn.add_argument("--max-calls", type=int, default=None, help=argparse.SUPPRESS)
    rn.add_argument("script", nargs="?")
    rn.add_argument("args", nargs=argparse.REMAINDER)
    rn.set_defaults(fn=cmd_run)

    ins = sub.add_parser("inspect", help="list a checkpoint's contents without loading tensor data")
    ins.add_argument("file")
    ins.set_defaults(fn=cmd_inspect)

    la = sub.add_parser("launch", help="start N ranks of a script through MPI (pip install dynagrad[distributed])")
    from .distributed import launch as _launch
    _launch.add_arguments(la)
    la.set_defaults(fn=_launch.run)

    be = sub.add_parser("bench", help="run the side-by-side benchmarks (source checkout)")
    be.add_argument("args", nargs=argparse.REMAINDER)
    be.set_defaults(fn=cmd_bench)
    return ap


def _split_module_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """``run [flags] -m module args...``: everything after the module belongs to it, not to argparse."""
    if len(argv) >= 3 and argv[0] == "run":
        for i in range(1, len(argv) - 1):
            if argv[i] == "-m":
                return argv[:i + 2], argv[i + 2:]
            if not argv[i].startswith("-"):
                break
    return argv, []


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    head, module_args = _split_module_args(argv)
    parser = build_parser()
    args = parser.parse_args(head)
    if getattr(args, "fn", None) is cmd_run:
        if args.module is not None:
            if args.script is not None:
                module_args = [args.script] + list(args.args) + module_args
            args.script, args.args = None, module_args
        elif args.script is None:
            parser.error("run: give a script or -m module")
    return args.fn(args) or 0


if __name__ == "__main__":
    sys.exit(main())
