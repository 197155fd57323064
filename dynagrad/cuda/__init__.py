"""``torch.cuda`` as PyTorch's CPU build presents it: CUDA is never available.

Scripts written for a GPU choose their device with ``torch.cuda.is_available()`` and then run on the CPU;
everything here returns or raises what PyTorch 2.13's CPU wheel does, so guarded code takes the same branch
and unguarded code fails with the same exception type: the memory counters are 0, ``manual_seed_all`` and
``empty_cache`` do nothing, ``current_device()``, ``synchronize()`` or ``get_device_name()`` raise
AssertionError ("Torch not compiled with CUDA enabled"), and ``torch.cuda.amp`` warns that it is deprecated
and disables itself.

>>> import dynagrad as torch
>>> torch.cuda.is_available(), torch.cuda.device_count(), torch.cuda.max_memory_allocated()
(False, 0, 0)
>>> device = torch.device("cuda" if torch.cuda.is_available() else "cpu"); device
device(type='cpu')
"""
from __future__ import annotations

from typing import Any

from .. import OutOfMemoryError, _tensortype
from .._device import device as _device
from . import amp, graphs, memory, nvtx, random, streams
from ._errors import dummy_class, no_cuda_binding, no_nvml, not_compiled
from .graphs import CUDAGraph, graph, graph_pool_handle, is_current_stream_capturing, make_graphed_callables
from .memory import (
    caching_allocator_enable,
    empty_cache,
    get_per_process_memory_fraction,
    host_memory_stats,
    host_memory_stats_as_nested_dict,
    max_memory_allocated,
    max_memory_cached,
    max_memory_reserved,
    mem_get_info,
    memory_allocated,
    memory_cached,
    memory_reserved,
    memory_snapshot,
    memory_stats,
    memory_stats_as_nested_dict,
    memory_summary,
    reset_accumulated_host_memory_stats,
    reset_accumulated_memory_stats,
    reset_max_memory_allocated,
    reset_max_memory_cached,
    reset_peak_host_memory_stats,
    reset_peak_memory_stats,
    set_per_process_memory_fraction,
)
from .random import (
    get_rng_state,
    get_rng_state_all,
    initial_seed,
    manual_seed,
    manual_seed_all,
    seed,
    seed_all,
    set_rng_state,
    set_rng_state_all,
)
from .streams import Event, ExternalStream, Stream

globals().update(_tensortype.namespace("torch.cuda", _tensortype.DENSE, cuda=True))

has_half = True
has_magma = False
default_generators: tuple = ()


class CudaError(RuntimeError):
    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(f"CUDA error {code} (dynagrad computes on the CPU only)")


class DeferredCudaCallError(Exception):
    pass


def is_available() -> bool:
    """False: dynagrad computes on the CPU."""
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def _is_compiled() -> bool:
    return False


def init() -> None:
    raise not_compiled("init()")


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def is_tf32_supported() -> bool:
    return False


def get_arch_list() -> list[str]:
    return []


def get_gencode_flags() -> str:
    return ""


def current_device() -> int:
    raise not_compiled("current_device()")


def get_device_name(device: Any = None) -> str:
    raise not_compiled("get_device_name()")


def get_device_capability(device: Any = None) -> tuple[int, int]:
    raise not_compiled("get_device_capability()")


def get_device_properties(device: Any = None):
    raise not_compiled("get_device_properties()")


def synchronize(device: Any = None) -> None:
    raise not_compiled("synchronize()")


def ipc_collect() -> None:
    raise not_compiled("ipc_collect()")


def current_stream(device: Any = None):
    raise not_compiled("current_stream()")


def default_stream(device: Any = None):
    raise not_compiled("default_stream()")


def set_stream(stream: Any) -> None:
    if stream is not None:
        raise not_compiled("set_stream()")


def current_blas_handle():
    raise not_compiled("current_blas_handle()")


def current_solver_handle():
    raise not_compiled("current_solver_handle()")


def cudart():
    raise not_compiled("cudart()")


def can_device_access_peer(device: Any, peer_device: Any) -> bool:
    raise not_compiled("can_device_access_peer()")


def get_sync_debug_mode() -> int:
    raise not_compiled("get_sync_debug_mode()")


def set_sync_debug_mode(debug_mode: int | str) -> None:
    raise not_compiled("set_sync_debug_mode()")


def _device_index(dev: Any, optional: bool = False) -> int:
    """The CUDA index ``dev`` names (PyTorch's ``_get_device_index``); -1 for 'no particular device'."""
    if isinstance(dev, str):
        dev = _device(dev)
    if isinstance(dev, _device):
        if dev.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {dev}")
        if dev.index is None:
            if optional:
                raise not_compiled("current_device()")
            raise ValueError(f"Expected a torch.device with a specified index or an integer, but got:{dev}")
        return dev.index
    if dev is None:
        if optional:
            raise not_compiled("current_device()")
        raise ValueError("Expected a torch.device with a specified index or an integer, but got:None")
    return int(dev)


def set_device(device: Any) -> None:
    """Raise as PyTorch's CPU build does for any real CUDA index (``-1``, "no device", is accepted)."""
    if _device_index(device) >= 0:
        raise no_cuda_binding("set_device()")


class device:  # noqa: N801 - PyTorch's name
    """``with torch.cuda.device(i):`` - entering it needs CUDA (index -1 means none and is accepted)."""

    def __init__(self, device: Any) -> None:
        self.idx = -1 if device is None else _device_index(device, optional=True)
        self.prev_idx = -1

    def __enter__(self) -> None:
        if self.idx >= 0:
            raise RuntimeError("PyTorch was compiled without CUDA support (dynagrad computes on the CPU only)")

    def __exit__(self, *exc: Any) -> bool:
        return False


class device_of(device):  # noqa: N801
    """``with torch.cuda.device_of(tensor):`` - a CPU tensor selects no CUDA device, so this does nothing."""

    def __init__(self, obj: Any) -> None:
        idx = obj.get_device() if getattr(obj, "is_cuda", False) else -1
        super().__init__(idx)


class StreamContext:
    """``with torch.cuda.stream(s):`` - with ``s=None`` (the only stream that can exist here) it does nothing."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def __enter__(self) -> None:
        if self.stream is not None:
            raise not_compiled("stream()")

    def __exit__(self, *exc: Any) -> bool:
        return False


def stream(stream: Any) -> StreamContext:
    return StreamContext(stream)


def _nvml(*args: Any, **kwargs: Any):
    raise no_nvml()


utilization = temperature = power_draw = clock_rate = memory_usage = device_memory_used = _nvml


def list_gpu_processes(device: Any = None) -> str:
    return "pynvml module not found, please install nvidia-ml-py"


def _lazy_init() -> None:
    raise not_compiled("_lazy_init()")


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("annotations", "Any")]
