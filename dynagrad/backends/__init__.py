"""``torch.backends``: the switches and capability queries of PyTorch's compute libraries.

On a CPU build the CUDA ones (``cuda``, ``cudnn``) hold flags nothing reads; setting them is accepted and
type-checked as in PyTorch (``torch.backends.cudnn.benchmark = True``), and ``is_available()`` is False.
The CPU ones answer for what dynagrad really runs on: NumPy's BLAS, no oneDNN, no OpenMP (see each module).

>>> import dynagrad.backends.cudnn as cudnn
>>> cudnn.benchmark = True; cudnn.is_available()
False
>>> cudnn.benchmark = False
"""
from __future__ import annotations

import contextlib
import importlib
import types
from typing import Any

_SUBMODULES = ("cpu", "cuda", "cudnn", "mha", "mkl", "mkldnn", "mps", "nnpack", "openmp", "opt_einsum")

fp32_precision = "none"
_flags_frozen = False


def disable_global_flags() -> None:
    """After this, flags may only be changed through the ``flags()`` context managers (PyTorch's rule)."""
    global _flags_frozen
    _flags_frozen = True


def flags_frozen() -> bool:
    return _flags_frozen


@contextlib.contextmanager
def __allow_nonbracketed_mutation():
    global _flags_frozen
    old, _flags_frozen = _flags_frozen, False
    try:
        yield
    finally:
        _flags_frozen = old


class FlagModule(types.ModuleType):
    """A backend module whose flags are checked when set, as PyTorch's ``PropModule`` does.

    Subclasses list ``_flags = {name: (type, default)}``; setting a flag to a value of the wrong type raises
    RuntimeError with PyTorch's wording, and ``disable_global_flags()`` freezes them.
    """

    _flags: dict[str, tuple[type, Any]] = {}
    _setter_names: dict[str, str] = {}

    def __setattr__(self, name: str, value: Any) -> None:
        spec = type(self)._flags.get(name)
        if spec is not None:
            kind = spec[0]
            if kind is bool and not isinstance(value, bool):
                setter = type(self)._setter_names.get(name, f"set_{name}")
                raise RuntimeError(f"{setter} expects a bool, but got {type(value).__name__}")
            if _flags_frozen:
                raise RuntimeError(f"not allowed to set {self.__name__}.{name} flags after disable_global_flags; "
                                   f"please use flags() context manager instead")
        super().__setattr__(name, value)


def install(module_name: str, cls: type[FlagModule]) -> None:
    """Turn the already-imported module ``module_name`` into a ``cls`` and give it the flag defaults."""
    import sys
    mod = sys.modules[module_name]
    mod.__class__ = cls
    for name, (_, default) in cls._flags.items():
        if name not in mod.__dict__:
            types.ModuleType.__setattr__(mod, name, default)


@contextlib.contextmanager
def set_flags(module: types.ModuleType, **values: Any):
    """Set flags of ``module`` for the duration of a ``with`` block (the body of each ``flags()``)."""
    old = {k: getattr(module, k) for k in values}
    with __allow_nonbracketed_mutation():
        for k, v in values.items():
            if v is not None:
                setattr(module, k, v)
    try:
        yield
    finally:
        with __allow_nonbracketed_mutation():
            for k, v in old.items():
                setattr(module, k, v)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module '{__name__}' has no attribute '{name}'")
