"""``torch.compiler``: ``dynagrad.compiler.explain``, ``reset``, ``disable`` and ``compile``."""
from __future__ import annotations

from .compile import compile, explain, reset  # noqa: A004

__all__ = ["compile", "explain", "reset", "disable", "is_compiling"]


def disable(fn=None, recursive: bool = True):
    """Accepted for compatibility: returns ``fn`` unchanged."""
    if fn is None:
        return lambda f: f
    return fn


def is_compiling() -> bool:
    """True while dynagrad.compile traces a function."""
    from .autograd import state
    return state.tracer is not None
