"""``torch.xpu``: Intel GPUs, which this build does not have (scripts probe ``torch.xpu.is_available()``).

>>> import dynagrad as torch
>>> torch.xpu.is_available(), torch.xpu.device_count()
(False, 0)
"""
from __future__ import annotations

from typing import Any

__all__ = ["is_available", "device_count", "is_initialized", "manual_seed", "manual_seed_all", "synchronize",
           "empty_cache", "current_device"]


def _not_compiled() -> AssertionError:
    return AssertionError("Torch not compiled with XPU enabled (dynagrad computes on the CPU only)")


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    int(seed)


def manual_seed_all(seed: int) -> None:
    int(seed)


def empty_cache() -> None:
    """Nothing cached; returns as on PyTorch's CPU build."""


def synchronize(device: Any = None) -> None:
    raise _not_compiled()


def current_device() -> int:
    raise _not_compiled()
