"""``dynagrad.nn``: modules, parameters, layers, losses, ``functional``, ``init`` and ``utils``, with the
names ``torch.nn`` has.

>>> import dynagrad
>>> model = dynagrad.nn.Sequential(dynagrad.nn.Linear(4, 8), dynagrad.nn.ReLU(), dynagrad.nn.Linear(8, 2))
>>> loss = dynagrad.nn.CrossEntropyLoss()(model(dynagrad.randn(5, 4)), dynagrad.tensor([0, 1, 0, 1, 1]))
>>> loss.backward()
>>> model[0].weight.grad.shape
torch.Size([8, 4])
"""
from . import functional, init, modules, parallel, parameter, utils
from .modules import *  # noqa: F403
from .modules.module import Module
from .parameter import Buffer, Parameter, UninitializedParameter

# the star import brought modules.attention; torch.nn.attention is the SDPA package (lazy)
globals().pop("attention", None)

__all__ = ["Module", "Parameter", "Buffer", "UninitializedParameter", "functional", "init", "utils",
           "modules", "parameter"] + [n for n in dir(modules) if not n.startswith("_") and n[0].isupper()]

_LAZY_SUBPACKAGES = ("parallel", "attention", "quantized", "intrinsic")
_LAZY_NAMES = {"DataParallel": "parallel"}


def __getattr__(name: str):
    """Subpackages other engineers add (``nn.parallel``) and layers of lazily found families (``nn.LSTM``)."""
    import importlib

    if name in _LAZY_SUBPACKAGES:
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY_NAMES[name]}"), name)
    try:
        value = getattr(modules, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value
