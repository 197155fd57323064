"""``torch.SymInt``, ``torch.SymFloat``, ``torch.SymBool``: the types of PyTorch's symbolic sizes (from its
dynamic-shape tracing). dynagrad's sizes are always plain Python ints, so no value is ever one of these; the
classes exist so that library checks such as ``isinstance(n, (int, torch.SymInt))`` (kornia) work, and they
cannot be made.

>>> import dynagrad as torch
>>> isinstance(3, (int, torch.SymInt)), isinstance(torch.ones(2).shape[0], torch.SymInt)
(True, False)
"""
from __future__ import annotations

__all__ = ["SymBool", "SymFloat", "SymInt"]


class _Symbolic:
    def __new__(cls, *args, **kwargs):
        raise TypeError(f"torch.{cls.__name__} cannot be created in dynagrad: it has no symbolic sizes "
                        f"(every size is a plain Python number)")


class SymInt(_Symbolic):
    """A symbolic int (never created in dynagrad)."""


class SymFloat(_Symbolic):
    """A symbolic float (never created in dynagrad)."""


class SymBool(_Symbolic):
    """A symbolic bool (never created in dynagrad)."""
