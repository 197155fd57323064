"""What generated programs call at run time."""
from __future__ import annotations

import numpy as np

from ..autograd import state
from ..autograd.graph import _RELEASED, Node
from ..tensor import Tensor

wrap = Tensor._wrap
from_node = Tensor._from_node
new = object.__new__


class GuardMiss(Exception):
    """A value the trace depended on differs in this call (raised before any side effect)."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


class CompiledNode(Node):
    """The autograd node of a compiled forward whose outputs require grad: its backward is the compiled
    backward program, run on the values the forward kept (``saved``)."""

    def name(self) -> str:
        return "CompiledFunctionBackward"

    def run_backward(self, grads: list, create_graph: bool):
        if create_graph:
            raise RuntimeError("dynagrad.compile: double backward (create_graph=True) through a compiled "
                               "function is not supported; compile with dynagrad.compile(..., "
                               "backend='eager') or call the function uncompiled")
        if self.saved is _RELEASED:
            self.unpack(False)  # raises the freed-graph error
        for t, vc, ver in self.vcs:  # an outside tensor backward reads, changed in place since the forward
            if vc[0] != ver:
                from ..autograd.graph import _inplace_message
                raise RuntimeError(_inplace_message(self, (t, t._data, vc, ver)))
        return self.bwd(self.saved, grads)


def edge(t: Tensor):
    """The autograd edge to ``t`` (for a CompiledNode's inputs)."""
    if not t._requires_grad:
        return (None, 0)
    return (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t, 0)


def acc_grad(leaf: Tensor, g, fresh: bool):
    """``leaf.grad = g`` or ``leaf.grad += g`` as the engine does; returns the array now in ``leaf.grad``."""
    cur = leaf.grad
    if cur is None:
        if not fresh:
            g = g.copy()
        leaf.grad = wrap(g)
        return g
    d = cur._data
    d += g
    cur._vc[0] += 1
    return d


def grad_data(leaf: Tensor):
    return leaf.grad._data


def bump(t: Tensor) -> None:
    t._vc[0] += 1


def setitem_copy(a, idx, value):
    out = a.copy()
    out[idx] = value
    return out


def setitem_inplace(a, idx, value):
    a[idx] = value
    return a


def grad_enabled() -> bool:
    return state.grad_enabled


def read_float(v):
    return float(np.asarray(v).reshape(()))


def versions(*tensors) -> tuple:
    """(tensor, version counter, version now) of each outside tensor a CompiledNode's backward reads."""
    return tuple((t, t._vc, t._vc[0]) for t in tensors)


class DeadNode(Node):
    """The history of an output whose backward already ran inside the compiled function."""

    def name(self) -> str:
        return "CompiledFunctionBackward"

    def run_backward(self, grads, create_graph):
        return self.unpack(False)


def dead_node() -> DeadNode:
    n = DeadNode()
    n.saved = _RELEASED
    n.meta = [((), np.float32)]
    return n


def same_array(a, b) -> bool:
    """The guard of a tensor read as a NumPy array: same shape, dtype and elements (NaN equal to NaN)."""
    a = np.asarray(a)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
