"""``torch.backends.mha``: the fast path of ``nn.MultiheadAttention`` and the Transformer layers in inference.

dynagrad's layers compute the same numbers either way; the switch is recorded for scripts that read it.

>>> import dynagrad as torch
>>> torch.backends.mha.get_fastpath_enabled()
True
"""
from __future__ import annotations

__all__ = ["get_fastpath_enabled", "set_fastpath_enabled"]
_fastpath = True


def get_fastpath_enabled() -> bool:
    return _fastpath


def set_fastpath_enabled(value: bool) -> None:
    global _fastpath
    _fastpath = bool(value)
