"""``torch.backends.nnpack``: the NNPACK convolution library, which dynagrad does not use.

>>> import dynagrad as torch
>>> torch.backends.nnpack.is_available()
False
"""
from __future__ import annotations

import contextlib

__all__ = ["is_available", "flags", "set_flags"]
_enabled = True


def is_available() -> bool:
    return False


def set_flags(_enabled_nnpack: bool):
    global _enabled
    old, _enabled = _enabled, bool(_enabled_nnpack)
    return (old,)


@contextlib.contextmanager
def flags(enabled: bool = False):
    old = set_flags(enabled)
    try:
        yield
    finally:
        set_flags(old[0])
