"""``torch.cpu``: the CPU device namespace (``torch.cpu.amp.autocast`` and friends), where dynagrad computes.

>>> import dynagrad as torch
>>> torch.cpu.is_available(), torch.cpu.device_count(), torch.cpu.current_device()
(True, 1, 'cpu')
"""
from __future__ import annotations

import functools
import os
import types
from typing import Any

from . import amp

__all__ = ["Event", "Stream", "StreamContext", "amp", "current_device", "current_stream", "device_count",
           "get_capabilities", "is_available", "is_initialized", "set_device", "stream", "synchronize"]


def is_available() -> bool:
    return True


def is_initialized() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def set_device(device: Any) -> None:
    """There is one CPU device; selecting it does nothing."""


def synchronize(device: Any = None) -> None:
    """CPU ops complete before returning; nothing to wait for."""


class Stream:
    """The CPU's stream: work runs in order as it is issued, so waiting and querying are immediate."""

    def __init__(self, priority: int = -1) -> None:
        self.priority = priority

    def wait_stream(self, stream: Stream) -> None:
        pass

    def wait_event(self, event: Event) -> None:
        pass

    def record_event(self, event: Event | None = None) -> Event:
        return event or Event()

    def query(self) -> bool:
        return True

    def synchronize(self) -> None:
        pass


class Event:
    def record(self, stream: Stream | None = None) -> None:
        pass

    def wait(self, stream: Stream | None = None) -> None:
        pass

    def query(self) -> bool:
        return True

    def synchronize(self) -> None:
        pass


_current_stream = Stream()


def current_stream(device: Any = None) -> Stream:
    return _current_stream


class StreamContext:
    def __init__(self, stream: Stream | None) -> None:
        self.stream = stream

    def __enter__(self) -> Stream | None:
        return self.stream

    def __exit__(self, *exc: Any) -> bool:
        return False


def stream(stream: Stream | None) -> StreamContext:
    return StreamContext(stream)


@functools.cache
def _features() -> dict[str, bool]:
    """NumPy's runtime CPU feature detection ('AVX2': True, ...)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy < 2 layout
        try:
            from numpy.core._multiarray_umath import __cpu_features__
        except ImportError:
            return {}
    return dict(__cpu_features__)


# PyTorch's capability names for the NumPy feature names they correspond to
_CAPS = {"sse": "SSE", "sse2": "SSE2", "sse3": "SSE3", "ssse3": "SSSE3", "sse4_1": "SSE41", "sse4_2": "SSE42",
         "popcnt": "POPCNT", "avx": "AVX", "f16c": "F16C", "fma3": "FMA3", "avx2": "AVX2", "avx512_f": "AVX512F",
         "avx512_cd": "AVX512CD", "avx512_bw": "AVX512BW", "avx512_dq": "AVX512DQ", "avx512_vl": "AVX512VL",
         "avx512_ifma": "AVX512IFMA", "avx512_vbmi": "AVX512VBMI", "avx512_vnni": "AVX512VNNI",
         "avx512_vbmi2": "AVX512VBMI2", "avx512_bitalg": "AVX512BITALG", "avx512_vpopcntdq": "AVX512VPOPCNTDQ",
         "avx512_fp16": "AVX512FP16", "avx512_bf16": "AVX512BF16", "fma4": "FMA4", "bmi": "BMI", "bmi2": "BMI2",
         "lzcnt": "LZCNT"}
# features NumPy does not detect, by their /proc/cpuinfo flag
_CPUINFO = {"sse4a": "sse4a", "avx_vnni": "avx_vnni", "amx_tile": "amx_tile", "amx_int8": "amx_int8",
            "amx_bf16": "amx_bf16", "amx_fp16": "amx_fp16", "clflush": "clflush", "clflushopt": "clflushopt",
            "clwb": "clwb", "aes": "aes", "sha": "sha_ni"}


@functools.cache
def _cpuinfo_flags() -> frozenset:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def get_capabilities() -> types.MappingProxyType:
    """The CPU's instruction-set extensions under PyTorch's names, plus ``architecture`` and core counts."""
    f = _features()
    caps: dict[str, Any] = {name: bool(f.get(np_name)) for name, np_name in _CAPS.items()}
    flags = _cpuinfo_flags()
    if flags:  # Linux: the kernel's list covers what NumPy does not detect
        caps.update({name: flag in flags for name, flag in _CPUINFO.items()})
    caps["architecture"] = os.uname().machine if hasattr(os, "uname") else "unknown"
    caps["num_logical_cores"] = os.cpu_count() or 1
    return types.MappingProxyType(caps)
