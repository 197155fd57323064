"""``torch.backends.cudnn``: cuDNN's switches. There is no cuDNN here (``is_available()`` is False); the flags
keep PyTorch's defaults, accept PyTorch's types, and change nothing, as on PyTorch's CPU build.

>>> import dynagrad.backends.cudnn as cudnn
>>> cudnn.enabled, cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32, cudnn.version()
(True, False, False, True, None)
"""
from __future__ import annotations

from typing import Any

from . import FlagModule, install, set_flags


class _Precision:
    """``cudnn.conv`` / ``cudnn.rnn``: per-operator fp32 precision settings."""

    def __init__(self) -> None:
        self.fp32_precision = "none"


conv = _Precision()
rnn = _Precision()


def is_available() -> bool:
    return False


def version() -> int | None:
    return None


def is_acceptable(tensor: Any) -> bool:
    """Whether cuDNN could take ``tensor``: never, with no cuDNN."""
    return False


def flags(enabled: bool = False, benchmark: bool = False, benchmark_limit: int = 10, deterministic: bool = False,
          allow_tf32: bool = True, fp32_precision: str = "none", depthwise_kernel: str = "auto"):
    """Context manager setting the cuDNN flags inside a ``with`` block."""
    import sys
    return set_flags(sys.modules[__name__], enabled=enabled, benchmark=benchmark, deterministic=deterministic,
                     allow_tf32=allow_tf32)


class CudnnModule(FlagModule):
    _flags = {"enabled": (bool, True), "benchmark": (bool, False), "deterministic": (bool, False),
              "allow_tf32": (bool, True), "benchmark_limit": (int, None), "fp32_precision": (str, "none"),
              "depthwise_kernel": (str, "auto")}
    _setter_names = {"enabled": "set_enabled_cudnn", "benchmark": "set_benchmark_cudnn",
                     "deterministic": "set_deterministic_cudnn", "allow_tf32": "set_allow_tf32_cublas"}


install(__name__, CudnnModule)
