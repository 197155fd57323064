"""``torch.cuda.nvtx``: NVIDIA profiler annotations, which need the CUDA build's NVTX library.

``range`` builds its context manager (the error comes on entry), as PyTorch's CPU build does.
"""
from __future__ import annotations

import contextlib

__all__ = ["range_push", "range_pop", "range_start", "range_end", "mark", "range"]


def _missing():
    return RuntimeError("NVTX functions not installed. Are you sure you have a CUDA build? (dynagrad computes "
                        "on the CPU only)")


def range_push(msg: str):
    raise _missing()


def range_pop():
    raise _missing()


def range_start(msg: str) -> int:
    raise _missing()


def range_end(range_id: int) -> None:
    raise _missing()


def mark(msg: str):
    raise _missing()


@contextlib.contextmanager
def range(msg: str, *args, **kwargs):  # noqa: A001 - PyTorch's name
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()
