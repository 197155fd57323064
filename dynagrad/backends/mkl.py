"""``torch.backends.mkl``: whether Intel's MKL does the linear algebra - here, whether NumPy's BLAS is MKL
(PyTorch's CPU wheel bundles MKL and says True; dynagrad's products run on whatever BLAS NumPy links).

>>> import dynagrad as torch
>>> isinstance(torch.backends.mkl.is_available(), bool)
True
"""
from __future__ import annotations

VERBOSE_OFF, VERBOSE_ON = 0, 1


def is_available() -> bool:
    import numpy
    try:
        name = numpy.__config__.CONFIG["Build Dependencies"]["blas"]["name"]
    except (AttributeError, KeyError, TypeError):
        return False
    return "mkl" in str(name).lower()


class verbose:  # noqa: N801 - PyTorch's name
    """``with torch.backends.mkl.verbose(level):`` - MKL's logging; accepted, nothing to log here."""

    def __init__(self, enable: int) -> None:
        self.enable = enable

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        return False
