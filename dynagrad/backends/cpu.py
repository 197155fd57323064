"""``torch.backends.cpu``: the widest SIMD level this CPU offers, as PyTorch names it.

>>> import dynagrad as torch
>>> torch.backends.cpu.get_cpu_capability() in ("DEFAULT", "AVX2", "AVX512", "NO AVX", "ZVECTOR", "VSX", "SVE256")
True
"""
from __future__ import annotations

__all__ = ["get_cpu_capability"]


def get_cpu_capability() -> str:
    """'AVX512', 'AVX2' or 'DEFAULT' on x86 (from NumPy's CPU feature detection)."""
    from ..cpu import _features
    f = _features()
    if all(f.get(k) for k in ("AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ")):
        return "AVX512"
    if f.get("AVX2") and f.get("FMA3"):
        return "AVX2"
    return "DEFAULT"
