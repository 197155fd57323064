"""``torch._dynamo.config``: PyTorch 2.13's settings, readable and settable by name (others raise
AttributeError, as in PyTorch).

What they change in dynagrad:

* ``cache_size_limit`` / ``recompile_limit`` (the same setting): programs kept per compiled function;
  past it, new situations run eagerly.
* ``automatic_dynamic_shapes`` (True): a dimension that changed between calls becomes symbolic (one program
  for all its sizes); False keeps every program specialised, as ``dynamic=False``.
* ``assume_static_by_default`` (True): False makes dimensions symbolic from the first call, as
  ``dynamic=True``.

Every other setting is accepted and has no effect: ``suppress_errors`` (dynagrad always runs a function
eagerly when it cannot compile it), ``capture_scalar_outputs`` (``.item()`` is always a checked value, never
a break into a new frame), ``verbose``, ``optimize_ddp`` and the rest concern PyTorch's own machinery.

>>> import dynagrad
>>> import dynagrad._dynamo
>>> dynagrad._dynamo.config.cache_size_limit
8
"""
from __future__ import annotations

from ._config_module import install


def _limit(value) -> None:
    import sys

    from .. import compile as compile_pkg
    compile_pkg.cache_size_limit = int(value)
    cfg = sys.modules[__name__]
    cfg.__dict__["_values"]["cache_size_limit"] = cfg.__dict__["_values"]["recompile_limit"] = int(value)


def _flag(name):
    def set_flag(value) -> None:
        from .. import compile as compile_pkg
        setattr(compile_pkg, name, bool(value))
    return set_flag


install(__name__, "config_keys.json", effects={
    "cache_size_limit": _limit, "recompile_limit": _limit,
    "automatic_dynamic_shapes": _flag("automatic_dynamic_shapes"),
    "assume_static_by_default": _flag("assume_static_by_default"),
})
