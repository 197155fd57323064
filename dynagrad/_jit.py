"""numba for a few hot elementwise loops, when it is installed (the ``compile`` extra).

NumPy makes one pass over memory per operation, so a chain of a dozen float32 operations (erf's
polynomial in GELU, an AdamW update) costs a dozen passes. A numba loop makes one. Every kernel here
repeats its NumPy twin's operations in the same order in float32 (numba's float32 arithmetic is IEEE like
NumPy's: no fused multiply-add, ``error_model="numpy"`` so a division is a plain division), and leaves the
transcendental functions (exp, tanh, log) to NumPy's ufuncs between kernels. So results are bit for bit
those of the NumPy path, with or without numba; tests/test_fast_paths.py checks each pair.

Kernels compile on first use (about a second each, then numba's on-disk cache). ``DYNAGRAD_NUMBA=0``
keeps to NumPy.
"""
from __future__ import annotations

import importlib.util
import os

_available: bool | None = None


def enabled() -> bool:
    """Whether the numba kernels run (numba installed and not switched off), looked up once."""
    global _available
    if _available is None:
        _available = os.environ.get("DYNAGRAD_NUMBA", "1") != "0" and importlib.util.find_spec("numba") is not None
    return _available


def set_enabled(flag: bool) -> None:
    """Turn the kernels on or off (tests compare both paths); on needs numba installed."""
    global _available
    _available = bool(flag) and importlib.util.find_spec("numba") is not None


class kernel:  # noqa: N801 - used as a decorator
    """A function compiled by numba on its first call (numba is imported only then)."""

    def __init__(self, fn) -> None:
        self.fn = fn
        self.compiled = None
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__

    def __call__(self, *args):
        c = self.compiled
        if c is None:
            import numba
            c = self.compiled = numba.njit(cache=True, fastmath=False, error_model="numpy", boundscheck=False,
                                           nogil=True)(self.fn)
        return c(*args)
