"""``torch.backends.mps``: Apple's Metal backend, which this build does not have.

>>> import dynagrad as torch
>>> torch.backends.mps.is_available(), torch.backends.mps.is_built()
(False, False)
"""
from __future__ import annotations

__all__ = ["is_built", "is_available", "is_macos13_or_newer", "is_macos_or_newer", "get_name", "get_core_count"]


def is_built() -> bool:
    return False


def is_available() -> bool:
    return False


def is_macos_or_newer(major: int, minor: int) -> bool:
    raise RuntimeError("Cannot execute isOnMacOSorNewer() without MPS backend.")


def is_macos13_or_newer(minor: int = 0) -> bool:
    return is_macos_or_newer(13, minor)


def get_name() -> str:
    raise AttributeError("torch.backends.mps.get_name() needs the MPS backend, which this build lacks")


def get_core_count() -> int:
    raise AttributeError("torch.backends.mps.get_core_count() needs the MPS backend, which this build lacks")
