"""What each rank of ``dynagrad launch`` runs:
``python -m dynagrad.distributed._worker [--torch] script.py args...``.

It starts MPI, sets torchrun's environment variables from MPI's, runs the script as ``__main__``, and if the
script raises (or exits with a non-zero status) says which rank failed and aborts the whole job.
"""
from __future__ import annotations

import os
import runpy
import sys
import traceback


def _torchrun_env() -> None:
    env = os.environ
    for ours, mpi in (("RANK", "PMI_RANK"), ("WORLD_SIZE", "PMI_SIZE"), ("LOCAL_RANK", "MPI_LOCALRANKID"),
                      ("LOCAL_WORLD_SIZE", "MPI_LOCALNRANKS")):
        if mpi in env:
            env.setdefault(ours, env[mpi])


def main(argv: list[str]) -> int:
    from .distributed_c10d import _abort_job, _mpi

    if argv and argv[0] == "--torch":
        from .. import _run
        from ..cli import TorchAlias
        _run.install(TorchAlias)  # as dynagrad run: the rank's own child processes see torch as dynagrad too
        argv = argv[1:]
    if not argv:
        print("usage: python -m dynagrad.distributed._worker [--torch] script.py [args...]", file=sys.stderr)
        return 2
    _torchrun_env()
    try:  # start MPI now, with every rank: then a rank slow to reach init_process_group is a timeout there
        _mpi()
    except RuntimeError:
        pass
    script = argv[0]
    sys.argv = list(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if code:
            if not isinstance(e.code, int):
                print(e.code, file=sys.stderr)
            _abort_job(f"exited with status {code}", code)
        return code
    except BaseException as e:  # noqa: BLE001 - report any failure, then end every rank
        tb = e.__traceback__
        path = os.path.abspath(script)
        while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != path:
            tb = tb.tb_next  # drop this file's and runpy's frames
        traceback.print_exception(type(e), e, tb or e.__traceback__)
        interrupted = isinstance(e, KeyboardInterrupt)
        _abort_job("interrupted" if interrupted else f"{type(e).__name__}: {e}", 130 if interrupted else 1)
        return 130 if interrupted else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
