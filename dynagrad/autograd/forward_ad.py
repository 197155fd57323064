"""Forward-mode automatic differentiation: dual tensors carry a tangent next to their value.

Inside ``dual_level()``, ``make_dual(x, t)`` gives a tensor equal to ``x`` whose tangent is ``t``; every op
on it computes the tangent of its output (``J t``) from the op's JVP rule (``autograd/_jvp_rules.py``),
and ``unpack_dual(y)`` reads ``(primal, tangent)``. Tangents live in the level (a dict keyed by the
tensor's id, dropped when the tensor dies and all at once when the level exits), not on the Tensor.

>>> import dynagrad
>>> import dynagrad.autograd.forward_ad as fwAD
>>> x = dynagrad.tensor([0.0, 1.0])
>>> with fwAD.dual_level():
...     y = fwAD.make_dual(x, dynagrad.ones(2)).exp() * 2
...     fwAD.unpack_dual(y).tangent
tensor([2.0000, 5.4366])

Levels nest (``dynagrad.func.jvp`` inside ``jvp`` or ``vmap``); the JVP rule of one level runs with the
outer levels still active, so tangents of tangents (second derivatives) come out right.
"""
from __future__ import annotations

import collections
import weakref

from . import _dispatch

__all__ = ["dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual",
           "UnpackedDualTensor"]

UnpackedDualTensor = collections.namedtuple("UnpackedDualTensor", ["primal", "tangent"])


class DualLevel:
    """The tangents of one level: ``{id(tensor): (weakref, tangent, node)}``, plus the tangents of graph
    outputs by ``(node, output_nr)`` so that an output rebuilt from a node's saved values (as a backward
    with ``create_graph=True`` does) finds its tangent again."""

    __slots__ = ("index", "tangents", "by_node", "prev_visible")

    def __init__(self, index: int) -> None:
        self.index = index
        self.prev_visible = _dispatch.visible
        self.tangents: dict = {}
        self.by_node: dict = {}

    def get(self, t):
        e = self.tangents.get(id(t))
        node = t.grad_fn
        if e is not None and e[0]() is t and (e[2] is node or node is None):
            return e[1]
        if node is not None and self.by_node:
            e2 = self.by_node.get((id(node), t._output_nr))
            if e2 is not None and e2[0]() is node and e2[1] is t._data:
                return e2[2]
        return e[1] if e is not None and e[0]() is t else None

    def set(self, t, tangent) -> None:
        key = id(t)
        table = self.tangents

        def drop(ref, key=key, table=table):
            e = table.get(key)
            if e is not None and e[0] is ref:
                del table[key]

        node = t.grad_fn
        table[key] = (weakref.ref(t, drop), tangent, node)
        if node is not None:
            nkey = (id(node), t._output_nr)
            by_node = self.by_node

            def drop_node(ref, nkey=nkey, by_node=by_node):
                e = by_node.get(nkey)
                if e is not None and e[0] is ref:
                    del by_node[nkey]

            by_node[nkey] = (weakref.ref(node, drop_node), t._data, tangent)

    def discard(self, t) -> None:
        e = self.tangents.get(id(t))
        if e is not None and e[0]() is t:
            del self.tangents[id(t)]

    def clear(self) -> None:
        self.tangents.clear()
        self.by_node.clear()


# -- levels --------------------------------------------------------------------------------------------------

def enter_dual_level() -> int:
    """Open a new (innermost) dual level and return its number."""
    lvl = DualLevel(len(_dispatch.duals))
    _dispatch.duals.append(lvl)
    _dispatch.visible = len(_dispatch.duals)
    _dispatch.refresh()
    return lvl.index


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the innermost dual level (``level`` must be it when given); its tangents are dropped."""
    duals = _dispatch.duals
    if not duals:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. "
                           "This is not supported.")
    if level is not None and level != duals[-1].index:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. "
                           "This is not supported.")
    lvl = duals.pop()
    lvl.clear()
    _dispatch.visible = min(lvl.prev_visible, len(duals))  # a level opened inside a JVP rule: as it was
    _dispatch.refresh()


class dual_level:  # noqa: N801 - PyTorch's name
    """Context manager: ``with dual_level():`` makes dual tensors possible inside (and forgets them after)."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc) -> None:
        exit_dual_level()


def _level(level):
    duals = _dispatch.duals
    if level is None:
        if not duals:
            return None
        return duals[-1]
    if not 0 <= level < len(duals):
        raise RuntimeError(f"Trying to use forward AD level {level} which does not exist.")
    return duals[level]


# -- dual tensors --------------------------------------------------------------------------------------------

def make_dual(tensor, tangent, *, level: int | None = None):
    """A view of ``tensor`` whose tangent at ``level`` (the innermost by default) is ``tangent``.

    >>> import dynagrad
    >>> import dynagrad.autograd.forward_ad as fwAD
    >>> with fwAD.dual_level():
    ...     d = fwAD.make_dual(dynagrad.tensor(3.0), dynagrad.tensor(1.0))
    ...     fwAD.unpack_dual(d * d).tangent
    tensor(6.)
    """
    from ..tensor import Tensor

    lvl = _level(level)
    if lvl is None:
        raise RuntimeError("To create a dual Tensor, you should be within a dual level. Use the forward_ad."
                           "dual_level() context manager to create one.")
    if not isinstance(tensor, Tensor) or not isinstance(tangent, Tensor):
        raise TypeError("make_dual: expected Tensors for the primal and the tangent")
    if not (tensor.is_floating_point() or tensor.is_complex()) or not (tangent.is_floating_point() or
                                                                       tangent.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(f"Trying to set a forward gradient that has a different size than that of the "
                           f"original Tensor, this is not supported. Tensor is of size {list(tensor.shape)} "
                           f"while the given forward gradient is of size {list(tangent.shape)}.")
    if tangent.dtype != tensor.dtype:
        tangent = tangent.to(tensor.dtype)
    out = tensor.view_as(tensor)
    lvl.set(out, tangent)
    return out


def unpack_dual(tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor`` at ``level``; the tangent is None when it has none there.

    The primal is a view of ``tensor`` without this level's tangent (other levels' tangents are kept).
    """
    from ..tensor import Tensor

    lvl = _level(level)
    if lvl is None or not isinstance(tensor, Tensor):
        return UnpackedDualTensor(tensor, None)
    tangent = lvl.get(tensor)
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    from ..ops.shape import ViewBackward0
    primal = _dispatch.plain(ViewBackward0, (tensor,), {"shape": tuple(tensor.shape), "copy_ok": True})
    for other in _dispatch.duals[:_dispatch.visible]:
        if other is not lvl:
            t = other.get(tensor)
            if t is not None:
                other.set(primal, t)
    return UnpackedDualTensor(primal, tangent)


def get_tangent(tensor, lvl: DualLevel):
    return lvl.get(tensor)


# -- propagation (called for every op while a level is visible) ----------------------------------------------

def propagate(cls, inputs, kw, out) -> None:
    """Give ``out`` (the result of ``cls`` on ``inputs``) its tangent at every visible level."""
    from ..tensor import Tensor
    from . import _jvp_rules

    n = _dispatch.visible
    duals = _dispatch.duals
    for i in range(n):
        lvl = duals[i]
        tans = None
        for j, x in enumerate(inputs):
            if isinstance(x, Tensor):
                t = lvl.get(x)
                if t is not None:
                    if tans is None:
                        tans = [None] * len(inputs)
                    tans[j] = t
        if tans is None:
            continue
        _dispatch.visible = i  # the rule's own ops see only the levels outside this one
        try:
            rule = _jvp_rules.RULES.get(cls) or _jvp_rules.lookup(cls)
            res = rule(inputs, tans, out, kw)
            outs = out if type(out) is tuple else (out,)
            if type(res) is not tuple and type(res) is not list:
                res = (res,)
            fixed = []
            for o, r in zip(outs, res):
                if r is None or not isinstance(o, Tensor) or o._data.dtype.kind not in "fcV":
                    fixed.append(None)
                else:
                    fixed.append(_jvp_rules.conform(r, o))
        finally:
            _dispatch.visible = n
        for o, r in zip(outs, fixed):
            if r is not None:
                lvl.set(o, r)
