"""``torch._dynamo``: the names scripts use around ``torch.compile`` (``reset``, ``config``, ``explain``,
``mark_dynamic``, ``disable``, ``optimize``, ``OptimizedModule``, ``exc``), on dynagrad's compiler.

>>> import dynagrad
>>> import dynagrad._dynamo
>>> dynagrad._dynamo.config.suppress_errors = True  # accepted (dynagrad always falls back to eager)
>>> dynagrad._dynamo.reset()
"""
from __future__ import annotations

import weakref

from . import config, exc
from .eval_frame import OptimizedModule

_dynamic_marks: dict = {}  # id(tensor) -> (weak reference, dims made symbolic); tensors compare elementwise


def marked_dims(t) -> set:
    """The dimensions ``mark_dynamic`` marked on ``t`` (empty: none)."""
    e = _dynamic_marks.get(id(t))
    return e[1] if e is not None and e[0]() is t else set()


def reset() -> None:
    """Forget every compiled program (the next calls trace again)."""
    from ..compile import reset as _reset
    _reset()


def is_compiling() -> bool:
    """True while a function is being traced."""
    from ..autograd import state
    return state.tracer is not None


def disable(fn=None, recursive: bool = True, *, reason=None):
    """``torch._dynamo.disable``: the function runs eagerly, also inside a compiled function."""
    from ..compiler import disable as _disable
    return _disable(fn, recursive, reason=reason)


def optimize(backend="inductor", *, nopython: bool = False, dynamic=None, disable: bool = False, **kwargs):
    """The older spelling: ``torch._dynamo.optimize(backend)(fn)`` is ``torch.compile(fn, backend=...)``."""
    from ..compile import compile as _compile

    def wrap(fn):
        return _compile(fn, backend=backend, fullgraph=nopython, dynamic=dynamic, disable=disable)
    return wrap


def explain(fn, *args, **kwargs):
    """``explain(fn)(*args)`` (or ``explain(fn, *args)``): graphs, graph breaks and their reasons."""
    from ..compile import explain as _explain
    return _explain(fn, *args, **kwargs)


def mark_dynamic(t, index, min=None, max=None) -> None:  # noqa: A002 - PyTorch's names
    """Let dimension(s) ``index`` of ``t`` become symbolic (from the second size a compiled function sees
    there), even where ``config.automatic_dynamic_shapes`` is False."""
    e = _dynamic_marks.get(id(t))
    if e is None or e[0]() is not t:
        key = id(t)
        e = _dynamic_marks[key] = (weakref.ref(t, lambda _, k=key: _dynamic_marks.pop(k, None)), set())
    e[1].update(index if isinstance(index, (list, tuple)) else (index,))


maybe_mark_dynamic = mark_dynamic


def mark_static(t, index=None) -> None:
    """Undo ``mark_dynamic`` (dimensions of ``t`` stay specialised unless they change)."""
    dims = marked_dims(t)
    if index is None:
        dims.clear()
    else:
        dims.difference_update(index if isinstance(index, (list, tuple)) else (index,))


def mark_static_address(t, guard: bool = True) -> None:
    """Accepted: it pins a tensor's address for CUDA graphs, which the CPU build does not use."""


def allow_in_graph(fn):
    """Accepted: every function's tensor operations are traced into the program."""
    return fn


def disallow_in_graph(fn):
    return disable(fn)


def graph_break() -> None:
    """Accepted: dynagrad's programs give the same numbers with or without a break here."""


def list_backends(exclude_tags=("debug", "experimental")) -> list:
    """The backend names ``torch.compile`` takes ("eager" and the other debugging backends listed only with
    ``exclude_tags=()``)."""
    from ..compile.api import COMPILING, EAGER
    names = set(COMPILING)
    if not exclude_tags:
        names |= EAGER
    return sorted(names)


__all__ = ["reset", "is_compiling", "disable", "optimize", "explain", "mark_dynamic", "maybe_mark_dynamic",
           "mark_static", "mark_static_address", "allow_in_graph", "disallow_in_graph", "graph_break",
           "list_backends", "config", "exc", "OptimizedModule"]
