"""``torch.nn.attention``: choosing the kernel behind ``F.scaled_dot_product_attention``.

dynagrad has one attention implementation, which computes what each of PyTorch's CPU kernels computes, so
``sdpa_kernel`` records the choice (``torch.backends.cuda.flash_sdp_enabled()`` and friends report it) and
changes no result.

>>> import dynagrad as torch
>>> from dynagrad.nn.attention import SDPBackend, sdpa_kernel
>>> with sdpa_kernel(SDPBackend.MATH):
...     torch.backends.cuda.math_sdp_enabled(), torch.backends.cuda.flash_sdp_enabled()
(True, False)
"""
from __future__ import annotations

import contextlib
import enum

__all__ = ["SDPBackend", "sdpa_kernel", "WARN_FOR_UNFUSED_KERNELS"]

WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(enum.IntEnum):
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __repr__(self) -> str:
        return f"<SDPBackend.{self.name}: {self.value}>"

    def __str__(self) -> str:
        return f"SDPBackend.{self.name}"


_FLAG = {SDPBackend.MATH: "math", SDPBackend.FLASH_ATTENTION: "flash",
         SDPBackend.EFFICIENT_ATTENTION: "mem_efficient", SDPBackend.CUDNN_ATTENTION: "cudnn"}


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority: bool = False):
    """Enable only ``backends`` (one SDPBackend or a list) inside the ``with`` block."""
    from ...backends import cuda
    if isinstance(backends, SDPBackend):
        backends = [backends]
    for b in backends:
        if not isinstance(b, SDPBackend):
            raise AssertionError("Backend must be an instance of SDPBackend")
    chosen = {_FLAG[b] for b in backends if b in _FLAG}
    with cuda._sdp_flags(**{name: name in chosen for name in ("math", "flash", "mem_efficient", "cudnn")}):
        yield
