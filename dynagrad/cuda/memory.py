"""``torch.cuda.memory``: with no CUDA device, no CUDA memory was ever allocated.

PyTorch's CPU build reports zeros for the counters, empty statistics, and raises for the calls that need the
CUDA caching allocator; these do the same.

>>> import dynagrad
>>> dynagrad.cuda.max_memory_allocated(), dynagrad.cuda.memory_reserved()
(0, 0)
"""
from __future__ import annotations

import collections
import warnings
from typing import Any

from ._errors import no_cuda_binding, not_compiled

__all__ = ["empty_cache", "max_memory_allocated", "max_memory_cached", "max_memory_reserved", "mem_get_info",
           "memory_allocated", "memory_cached", "memory_reserved", "memory_snapshot", "memory_stats",
           "memory_stats_as_nested_dict", "memory_summary", "host_memory_stats", "host_memory_stats_as_nested_dict",
           "reset_accumulated_memory_stats", "reset_max_memory_allocated", "reset_max_memory_cached",
           "reset_peak_memory_stats", "reset_accumulated_host_memory_stats", "reset_peak_host_memory_stats",
           "set_per_process_memory_fraction", "get_per_process_memory_fraction", "caching_allocator_enable"]


def empty_cache() -> None:
    """Nothing is cached: returns without doing anything, as on PyTorch's CPU build."""


def memory_stats(device: Any = None) -> dict[str, Any]:
    return collections.OrderedDict()


def memory_stats_as_nested_dict(device: Any = None) -> dict[str, Any]:
    return {}


def host_memory_stats() -> dict[str, Any]:
    return collections.OrderedDict()


def host_memory_stats_as_nested_dict() -> dict[str, Any]:
    return {}


def memory_allocated(device: Any = None) -> int:
    return 0


def max_memory_allocated(device: Any = None) -> int:
    return 0


def memory_reserved(device: Any = None) -> int:
    return 0


def max_memory_reserved(device: Any = None) -> int:
    return 0


def memory_cached(device: Any = None) -> int:
    warnings.warn("`torch.cuda.memory_cached` has been renamed to `torch.cuda.memory_reserved`", FutureWarning,
                  stacklevel=2)
    return 0


def max_memory_cached(device: Any = None) -> int:
    warnings.warn("`torch.cuda.max_memory_cached` has been renamed to `torch.cuda.max_memory_reserved`",
                  FutureWarning, stacklevel=2)
    return 0


def memory_summary(device: Any = None, abbreviated: bool = False) -> str:
    # PyTorch's CPU build formats empty statistics and fails on the first missing key
    raise KeyError("allocated_bytes.all.current (torch.cuda.memory_summary() has no CUDA statistics to format "
                   "on a CPU build)")


def memory_snapshot(mempool_id=None, include_traces: bool = True):
    raise no_cuda_binding("memory_snapshot()")


def reset_peak_memory_stats(device: Any = None) -> None:
    raise no_cuda_binding("reset_peak_memory_stats()")


def reset_accumulated_memory_stats(device: Any = None) -> None:
    raise no_cuda_binding("reset_accumulated_memory_stats()")


def reset_peak_host_memory_stats() -> None:
    raise no_cuda_binding("reset_peak_host_memory_stats()")


def reset_accumulated_host_memory_stats() -> None:
    raise no_cuda_binding("reset_accumulated_host_memory_stats()")


def reset_max_memory_allocated(device: Any = None) -> None:
    warnings.warn("torch.cuda.reset_max_memory_allocated now calls torch.cuda.reset_peak_memory_stats, which "
                  "resets /all/ peak memory stats.", FutureWarning, stacklevel=2)
    reset_peak_memory_stats(device)


def reset_max_memory_cached(device: Any = None) -> None:
    warnings.warn("torch.cuda.reset_max_memory_cached now calls torch.cuda.reset_peak_memory_stats, which "
                  "resets /all/ peak memory stats.", FutureWarning, stacklevel=2)
    reset_peak_memory_stats(device)


def mem_get_info(device: Any = None) -> tuple[int, int]:
    raise not_compiled("mem_get_info()")


def set_per_process_memory_fraction(fraction: float, device: Any = None) -> None:
    raise not_compiled("set_per_process_memory_fraction()")


def get_per_process_memory_fraction(device: Any = None) -> float:
    raise not_compiled("get_per_process_memory_fraction()")


def caching_allocator_enable(value: bool = True) -> None:
    """Accepted: there is no CUDA caching allocator to switch."""


def _record_memory_history(*args, **kwargs) -> None:
    raise no_cuda_binding("memory._record_memory_history()")


def _dump_snapshot(filename: str = "dump_snapshot.pickle") -> None:
    raise no_cuda_binding("memory._dump_snapshot()")
