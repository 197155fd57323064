"""``torch.backends.cuda``: cuBLAS and attention-kernel switches for GPUs. On a CPU build nothing reads them;
they keep PyTorch's defaults and record what scripts set.

``matmul.allow_tf32`` is tied to ``torch.set_float32_matmul_precision`` as in PyTorch (True is "high"), which
on the CPU changes no result: NumPy's BLAS computes float32 products in float32.

>>> import dynagrad as torch
>>> torch.backends.cuda.matmul.allow_tf32 = True
>>> torch.get_float32_matmul_precision()
'high'
>>> torch.backends.cuda.matmul.allow_tf32 = False; torch.backends.cuda.is_built()
False
"""
from __future__ import annotations

import contextlib
import enum
import warnings
from typing import Any

__all__ = ["is_built", "cuFFTPlanCacheManager", "cuBLASModule", "preferred_linalg_library", "preferred_blas_library",
           "cufft_plan_cache", "matmul", "SDPAParams", "enable_cudnn_sdp", "cudnn_sdp_enabled", "enable_flash_sdp",
           "flash_sdp_enabled", "enable_mem_efficient_sdp", "mem_efficient_sdp_enabled", "math_sdp_enabled",
           "enable_math_sdp", "allow_fp16_bf16_reduction_math_sdp", "fp16_bf16_reduction_math_sdp_allowed",
           "is_flash_attention_available", "is_ck_sdpa_available", "can_use_flash_attention",
           "can_use_efficient_attention",
           "can_use_cudnn_attention", "sdp_kernel"]


def is_built() -> bool:
    """Whether this build has CUDA: no."""
    return False


class cuBLASModule:  # noqa: N801 - PyTorch's name
    """``torch.backends.cuda.matmul``: only the attributes PyTorch knows can be set."""

    _names = ("allow_tf32", "allow_fp16_reduced_precision_reduction", "allow_bf16_reduced_precision_reduction",
              "allow_fp16_accumulation", "fp32_precision")

    def __init__(self) -> None:
        object.__setattr__(self, "allow_fp16_reduced_precision_reduction", True)
        object.__setattr__(self, "allow_bf16_reduced_precision_reduction", True)
        object.__setattr__(self, "allow_fp16_accumulation", False)

    @property
    def allow_tf32(self) -> bool:
        from .. import get_float32_matmul_precision
        return get_float32_matmul_precision() != "highest"

    @property
    def fp32_precision(self) -> str:
        return "tf32" if self.allow_tf32 else "none"

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._names:
            raise AttributeError(f"Unknown attribute {name}")
        if name in ("allow_tf32", "fp32_precision"):
            from .. import set_float32_matmul_precision
            on = bool(value) if name == "allow_tf32" else value == "tf32"
            set_float32_matmul_precision("high" if on else "highest")
            return
        object.__setattr__(self, name, value)


matmul = cuBLASModule()


class cuFFTPlanCacheManager:  # noqa: N801
    """``torch.backends.cuda.cufft_plan_cache``: reading or sizing the cache needs CUDA."""

    def _fail(self, name: str):
        from ..cuda._errors import not_compiled
        raise not_compiled(f"torch.backends.cuda.cufft_plan_cache.{name}")

    size = property(lambda self: self._fail("size"))
    max_size = property(lambda self: self._fail("max_size"), lambda self, v: self._fail("max_size"))

    def clear(self) -> None:
        self._fail("clear()")

    def __getitem__(self, device: Any):
        return self


cufft_plan_cache = cuFFTPlanCacheManager()


class _LinalgBackend(enum.IntEnum):
    Default = 0
    Cusolver = 1
    Magma = 2


class _BlasBackend(enum.IntEnum):
    Cublas = 1
    Cublaslt = 2
    Ck = 3


_linalg = _LinalgBackend.Default
_blas = _BlasBackend.Cublas


def preferred_linalg_library(backend: Any = None):
    global _linalg
    if isinstance(backend, str):
        backend = {"default": _LinalgBackend.Default, "cusolver": _LinalgBackend.Cusolver,
                   "magma": _LinalgBackend.Magma}[backend.lower()]
    if backend is not None:
        _linalg = backend
    return _linalg


def preferred_blas_library(backend: Any = None):
    global _blas
    if isinstance(backend, str):
        backend = {"cublas": _BlasBackend.Cublas, "cublaslt": _BlasBackend.Cublaslt, "hipblaslt": _BlasBackend.Cublaslt,
                   "ck": _BlasBackend.Ck}[backend.lower()]
    if backend is not None:
        _blas = backend
    return _blas


# scaled_dot_product_attention kernel choices: dynagrad has one implementation (the math one), which computes
# what every kernel computes, so these only record the choice
_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True, "fp16_bf16_reduction_math": True}


def flash_sdp_enabled() -> bool:
    return _sdp["flash"]


def enable_flash_sdp(enabled: bool) -> None:
    _sdp["flash"] = bool(enabled)


def mem_efficient_sdp_enabled() -> bool:
    return _sdp["mem_efficient"]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _sdp["mem_efficient"] = bool(enabled)


def math_sdp_enabled() -> bool:
    return _sdp["math"]


def enable_math_sdp(enabled: bool) -> None:
    _sdp["math"] = bool(enabled)


def cudnn_sdp_enabled() -> bool:
    return _sdp["cudnn"]


def enable_cudnn_sdp(enabled: bool) -> None:
    _sdp["cudnn"] = bool(enabled)


def fp16_bf16_reduction_math_sdp_allowed() -> bool:
    return _sdp["fp16_bf16_reduction_math"]


def allow_fp16_bf16_reduction_math_sdp(enabled: bool) -> None:
    _sdp["fp16_bf16_reduction_math"] = bool(enabled)


def is_flash_attention_available() -> bool:
    return False


def is_ck_sdpa_available() -> bool:
    return False


class SDPAParams:
    """The arguments of one attention call, as the ``can_use_*`` checks take them."""

    def __init__(self, query: Any, key: Any, value: Any, attn_mask: Any = None, dropout: float = 0.0,
                 is_causal: bool = False, enable_gqa: bool = False) -> None:
        self.query, self.key, self.value = query, key, value
        self.attn_mask, self.dropout, self.is_causal, self.enable_gqa = attn_mask, dropout, is_causal, enable_gqa


def can_use_flash_attention(params: SDPAParams, debug: bool = False) -> bool:
    return False


def can_use_efficient_attention(params: SDPAParams, debug: bool = False) -> bool:
    return False


def can_use_cudnn_attention(params: SDPAParams, debug: bool = False) -> bool:
    return False


@contextlib.contextmanager
def _sdp_flags(**values: bool):
    old = dict(_sdp)
    _sdp.update(values)
    try:
        yield
    finally:
        _sdp.clear()
        _sdp.update(old)


def sdp_kernel(enable_flash: bool = True, enable_math: bool = True, enable_mem_efficient: bool = True,
               enable_cudnn: bool = True):
    """Deprecated context manager choosing attention kernels (use ``torch.nn.attention.sdpa_kernel``)."""
    warnings.warn("`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager will be "
                  "removed. Please see `torch.nn.attention.sdpa_kernel()` for the new context manager, with "
                  "updated signature", FutureWarning, stacklevel=2)
    return _sdp_flags(flash=enable_flash, math=enable_math, mem_efficient=enable_mem_efficient, cudnn=enable_cudnn)


def __getattr__(name: str):
    if name == "SDPBackend":
        from ..nn.attention import SDPBackend
        return SDPBackend
    raise AttributeError(f"module '{__name__}' has no attribute '{name}'")
