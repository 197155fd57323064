"""``torch.compiler``: ``compile``, ``disable``, ``reset``, ``is_compiling`` and the other names scripts
use, on dynagrad's compiler (``dynagrad.compile``).

>>> import dynagrad
>>> @dynagrad.compiler.disable
... def log_stats(x):
...     print("mean", round(x.mean().item(), 3))
>>> f = dynagrad.compile(lambda x: (log_stats(x), x * 2)[1])
>>> f(dynagrad.ones(2))
mean 1.0
tensor([2., 2.])
"""
from __future__ import annotations

import functools

from .compile import compile, explain, reset  # noqa: A004

__all__ = ["compile", "explain", "reset", "disable", "is_compiling", "is_dynamo_compiling", "is_exporting",
           "allow_in_graph", "assume_constant_result", "list_backends", "cudagraph_mark_step_begin",
           "set_stance"]


def disable(fn=None, recursive: bool = True, *, reason: str | None = None):
    """Keep ``fn`` out of compiled code: called from a function being compiled, that function runs
    eagerly (PyTorch breaks the graph there; the numbers are the same); called from eager code it just
    runs. As a decorator with or without arguments."""
    if fn is None:
        return lambda f: disable(f, recursive, reason=reason)
    name = getattr(fn, "__qualname__", None) or type(fn).__name__

    @functools.wraps(fn)
    def disabled(*args, **kwargs):
        from .autograd import state
        tr = state.tracer
        if tr is not None and not tr.depth:
            tr.fail(f"it calls {name}, which torch.compiler.disable keeps out of compiled code"
                    + (f" ({reason})" if reason else ""))
        return fn(*args, **kwargs)
    disabled._torchdynamo_disable = True
    return disabled


def is_compiling() -> bool:
    """True while dynagrad.compile traces a function."""
    from .autograd import state
    return state.tracer is not None


is_dynamo_compiling = is_compiling


def is_exporting() -> bool:
    return False


def allow_in_graph(fn):
    """Accepted: every function's tensor operations are traced into the program."""
    return fn


def assume_constant_result(fn):
    """Accepted: the function is traced like any other (its tensor results are not assumed constant)."""
    return fn


def list_backends(exclude_tags=("debug", "experimental")) -> list:
    from ._dynamo import list_backends as _list
    return _list(exclude_tags)


def cudagraph_mark_step_begin() -> None:
    """Accepted: it marks steps for CUDA graphs, which the CPU build does not use."""


_STANCES = ("default", "force_eager", "eager_on_recompile", "fail_on_recompile")


def set_stance(stance: str = "default", *, skip_guard_eval_unsafe: bool = False, force_backend=None):
    """``"force_eager"`` runs every compiled function eagerly, ``"default"`` compiles again (usable as a
    context manager too, restoring the previous stance)."""
    from . import compile as compile_pkg
    if stance not in _STANCES:
        raise RuntimeError(f"Unrecognized stance {stance!r}, should be one of {', '.join(_STANCES)}")
    previous = "force_eager" if compile_pkg.eager_everywhere else "default"
    compile_pkg.eager_everywhere = stance == "force_eager"

    class _Restore:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            compile_pkg.eager_everywhere = previous == "force_eager"
            return False
    return _Restore()
