"""``torch._inductor``: its ``config`` module (``torch._inductor.config``), whose settings scripts set.

dynagrad's compiler plays inductor's part (``backend="inductor"``, the default); the settings are
PyTorch's names and change nothing here (they tune Triton and C++ code generation).
"""
from __future__ import annotations

from . import config

__all__ = ["config"]
