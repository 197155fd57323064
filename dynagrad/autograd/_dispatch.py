"""How primitive ops run while a function transform is active: the one hook in ``Op.apply``.

``state.transform_hook`` is None unless a forward-AD dual level (``autograd.forward_ad``) or a vmap level
(``dynagrad.func.vmap``) is active; then every ``Op.apply`` comes here. An op whose inputs are batched at a
vmap level runs through that level's batching rule (``func._vmap``), which calls the op again on the
physical tensors (batch dimension first) until no input is batched; an op on plain tensors runs as usual
and then gets the tangent of its output at each dual level from the JVP rules (``forward_ad.propagate``).

Levels nest in creation order. While the JVP rule of dual level ``i`` runs, only the levels created before
it are visible (``visible``), so the rule's own ops carry the outer levels' tangents (the derivatives of
the tangent, which nested ``jvp``/``jacfwd`` need) and never their own level's.
"""
from __future__ import annotations

from . import state

duals: list = []  # active dual levels (forward_ad.DualLevel), outermost first
visible = 0  # how many of ``duals`` propagate tangents right now
vmaps: list = []  # active vmap levels (func._vmap.VmapLevel), outermost first
_counter = [0]
_vmap = None  # dynagrad.func._vmap, imported on first use


def next_id() -> int:
    _counter[0] += 1
    return _counter[0]


_outer = [None]  # a hook installed before the first level (the profiler's): it still sees every op
_installed = [False]


def refresh() -> None:
    """Install the hook when the first level is entered, remove it when the last one is left. A hook set up
    meanwhile (a profiler entered inside a transform) wraps ``dispatch`` and is left alone."""
    active = bool(duals or vmaps)
    if active and not _installed[0]:
        _outer[0] = state.transform_hook
        state.transform_hook = dispatch
        _installed[0] = True
    elif not active and _installed[0]:
        if state.transform_hook is dispatch:
            state.transform_hook = _outer[0]
        _outer[0] = None
        _installed[0] = False


def plain(cls, inputs, kw):
    """Run an op as if no transform were active (its forward, and its graph node when grad is on)."""
    hook = state.transform_hook
    state.transform_hook = _outer[0]
    try:
        return cls.apply(*inputs, **kw)
    finally:
        state.transform_hook = hook


def dispatch(cls, inputs, kw):
    if vmaps:
        global _vmap
        if _vmap is None:
            from ..func import _vmap
        level = _vmap.level_of(cls, inputs, kw)
        if level is not None:
            return _vmap.batched_apply(cls, inputs, kw, level)
    out = plain(cls, inputs, kw)
    if visible:
        from .forward_ad import propagate
        propagate(cls, inputs, kw, out)
    return out
