"""``torch.mps``: Apple GPUs through Metal, which this build does not have.

As on PyTorch's Linux CPU build, ``is_available()`` is False and ``manual_seed`` returns quietly (it is
queued for a device that never appears); everything that needs the device raises RuntimeError.

>>> import dynagrad as torch
>>> torch.mps.is_available(), torch.mps.device_count(), torch.mps.manual_seed(0)
(False, 0, None)
"""
from __future__ import annotations

from typing import Any

__all__ = ["Event", "current_allocated_memory", "device_count", "driver_allocated_memory", "empty_cache",
           "get_rng_state", "is_available", "manual_seed", "recommended_max_memory", "seed",
           "set_per_process_memory_fraction", "set_rng_state", "synchronize"]


def _missing(what: str) -> RuntimeError:
    return RuntimeError(f"Cannot execute {what} without MPS backend. (dynagrad computes on the CPU only)")


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed: int) -> None:
    int(seed)


def seed() -> None:
    raise _missing("getDefaultGenerator()")


def get_rng_state(device: Any = "mps"):
    raise _missing("getDefaultGenerator()")


def set_rng_state(new_state: Any, device: Any = "mps") -> None:
    raise _missing("getDefaultGenerator()")


def synchronize() -> None:
    raise _missing("deviceSynchronize()")


def empty_cache() -> None:
    raise _missing("emptyCache()")


def set_per_process_memory_fraction(fraction: float) -> None:
    raise _missing("setMemoryFraction()")


def current_allocated_memory() -> int:
    raise _missing("getCurrentAllocatedMemory()")


def driver_allocated_memory() -> int:
    raise _missing("getDriverAllocatedMemory()")


def recommended_max_memory() -> int:
    raise _missing("getRecommendedMaxMemory()")


class Event:
    def __init__(self, enable_timing: bool = False) -> None:
        raise _missing("acquireEvent()")
