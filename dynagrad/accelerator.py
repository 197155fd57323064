"""``torch.accelerator``: the device-generic API the current PyTorch examples choose their device with.

dynagrad computes on the CPU, which PyTorch does not count as an accelerator: ``current_accelerator()`` is
None and ``is_available()`` False, so ``device = torch.accelerator.current_accelerator() if
torch.accelerator.is_available() else torch.device("cpu")`` picks the CPU; the calls that need a device raise
PyTorch's RuntimeError.

>>> import dynagrad as torch
>>> torch.accelerator.is_available(), torch.accelerator.current_accelerator(), torch.accelerator.device_count()
(False, None, 0)
"""
from __future__ import annotations

import warnings
from typing import Any

__all__ = ["current_accelerator", "current_device_idx", "current_device_index", "current_stream", "device_count",
           "device_index", "is_available", "set_device_idx", "set_device_index", "set_stream", "synchronize",
           "empty_cache", "empty_host_cache", "get_device_capability", "get_memory_info", "max_memory_allocated",
           "max_memory_reserved", "memory_allocated", "memory_reserved", "memory_stats",
           "reset_accumulated_memory_stats", "reset_peak_memory_stats"]


def _none() -> RuntimeError:
    return RuntimeError("Cannot access accelerator device when none is available. (dynagrad computes on the CPU; "
                        "torch.accelerator.is_available() is False)")


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def current_accelerator(check_available: bool = False):
    """The accelerator device type (``torch.device('cuda')``...), or None: there is none here."""
    return None


def current_device_index() -> int:
    raise _none()


def current_device_idx() -> int:
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def set_device_index(device: Any, /) -> None:
    raise _none()


def set_device_idx(device: Any, /) -> None:
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    set_device_index(device)


def current_stream(device: Any = None, /):
    raise _none()


def set_stream(stream: Any) -> None:
    from .cuda.streams import Stream
    if not isinstance(stream, Stream):
        raise TypeError(f"set_stream(): expected a torch.Stream, but got {type(stream).__name__}")
    raise _none()


def synchronize(device: Any = None, /) -> None:
    raise _none()


class device_index:  # noqa: N801 - PyTorch's name
    """``with torch.accelerator.device_index(i):`` - ``None`` selects nothing and is accepted."""

    def __init__(self, device: int | None, /) -> None:
        self.idx = device

    def __enter__(self) -> None:
        if self.idx is not None:
            raise _none()

    def __exit__(self, *exc: Any) -> bool:
        return False


def _needs_device(name: str):
    def fn(device_index: Any = None, /):
        raise _none()
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.accelerator.{name}``: needs an accelerator, so raises RuntimeError here."
    return fn


empty_cache = _needs_device("empty_cache")
empty_host_cache = _needs_device("empty_host_cache")
get_device_capability = _needs_device("get_device_capability")
get_memory_info = _needs_device("get_memory_info")
max_memory_allocated = _needs_device("max_memory_allocated")
max_memory_reserved = _needs_device("max_memory_reserved")
memory_allocated = _needs_device("memory_allocated")
memory_reserved = _needs_device("memory_reserved")
memory_stats = _needs_device("memory_stats")
reset_accumulated_memory_stats = _needs_device("reset_accumulated_memory_stats")
reset_peak_memory_stats = _needs_device("reset_peak_memory_stats")
