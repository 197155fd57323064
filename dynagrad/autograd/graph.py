"""Graph nodes: what an op recorded for backward, and where its gradients go.

A ``Node`` is created only when grad mode is on and an input requires grad. It holds
- ``edges``: one ``(target, output_nr)`` per input, where target is the producing Node, the leaf Tensor
  itself (gradients accumulate into its ``.grad``), or None when that input needs no gradient;
- ``meta``: ``(shape, numpy dtype)`` of each output, so the engine can undo broadcasting and cast;
- ``saved``: what backward reads, as ``(tensor, array, version_counter, version)`` entries; a version
  that moved means the value was changed in place after it was saved;
- ``source``: the user's line that ran the op.
Tensors point at their node and nodes at their inputs' nodes, never the reverse, so a graph dies with its
last output; backward drops ``saved`` as soon as the node has run unless ``retain_graph``.
"""
from __future__ import annotations

from .. import _source
from ..backend import xp

_nd = xp.ndarray

_RELEASED = object()  # marks saved values dropped by an earlier backward


class Node:
    """Base of every graph node (``tensor.grad_fn``). Subclasses implement ``backward``."""

    # Class-level defaults: a node sets only what differs, which keeps creating one cheap.
    edges: tuple = ()
    meta: list = ()
    saved = ()
    source = None
    freed_at = None
    anomaly_trace = None
    _pre_hooks = None
    _hooks = None
    _tensor_hooks = None  # {output_nr: [hook]} from Tensor.register_hook on non-leaf outputs
    _retained = None  # {output_nr: weakref to tensor} from Tensor.retain_grad
    materialize_grads = True

    # -- introspection, as PyTorch exposes it -------------------------------------------------------
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    @property
    def next_functions(self) -> tuple:
        """((node_or_AccumulateGrad_or_None, output_nr), ...) per input, as in PyTorch."""
        out = []
        for target, nr in self.edges:
            if target is None or isinstance(target, Node):
                out.append((target, nr))
            else:
                out.append((AccumulateGrad(target), 0))
        return tuple(out)

    @property
    def metadata(self) -> dict:
        d = self.__dict__.get("_metadata")
        if d is None:
            d = self._metadata = {}
        return d

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` after this node's backward; may return new grad_inputs."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _Handle(self._hooks, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` before this node's backward; may return new grad_outputs."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        self._pre_hooks.append(fn)
        return _Handle(self._pre_hooks, fn)

    # -- saved values ----------------------------------------------------------------------------
    def unpack(self, create_graph: bool) -> tuple:
        """The saved values as arrays (or as Tensors when building a graph of the backward)."""
        saved = self.saved
        if saved is _RELEASED:
            raise RuntimeError(_freed_message(self))
        values = []
        for entry in saved:
            tensor, array, vc, version = entry
            if array is None or type(array) is not _nd:  # None, or a Python number operand
                values.append(array)
                continue
            if vc[0] != version:
                raise RuntimeError(_inplace_message(self, entry))
            if create_graph:
                values.append(tensor if tensor is not None else _rewrap_output(self, array))
            else:
                values.append(array)
        return values

    def release(self, where) -> None:
        if self.saved:
            self.saved = _RELEASED
        self.freed_at = where

    @property
    def saved_tensors(self) -> tuple:
        return tuple(self.unpack(True))


class AccumulateGrad:
    """The node PyTorch shows for a leaf in ``next_functions``; ``.variable`` is the leaf tensor."""

    def __init__(self, variable) -> None:
        self.variable = variable
        self.next_functions = ()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"

    def __eq__(self, other) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)


class _Handle:
    """What ``register_hook`` returns: ``handle.remove()`` takes the hook away."""

    def __init__(self, hooks: list, fn) -> None:
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        try:
            self._hooks.remove(self._fn)
        except ValueError:
            pass


def _rewrap_output(node: Node, array):
    # A saved output is kept as an array (saving the Tensor would make a cycle output -> node -> output);
    # to differentiate through it again we rebuild a Tensor whose grad_fn is this node, as PyTorch does.
    from ..tensor import Tensor

    return Tensor._from_node(array, node, 0)


def _shapes(node: Node) -> str:
    shapes = [list(shape) for shape, _ in node.meta]
    if not shapes:
        return ""
    return " (output of shape " + ", ".join(map(str, shapes)) + ")"


def _freed_message(node: Node) -> str:
    where = f" The earlier backward ran at {_source.format_where(node.freed_at)}." if node.freed_at else ""
    made = f" The op ran at {_source.format_where(node.source)}." if node.source else ""
    return (f"Trying to backward through the graph a second time (or directly access saved tensors after "
            f"they have already been freed) in {node.name()}{_shapes(node)}. Saved intermediate values of the "
            f"graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
            f"backward through the graph a second time or if you need to access saved tensors after calling "
            f"backward.{where}{made}")


def _inplace_message(node: Node, entry) -> str:
    tensor, array, vc, version = entry
    shape = ", ".join(map(str, array.shape))
    what = f"[{array.dtype.name} [{shape}]]"
    owner = tensor.grad_fn.name() if tensor is not None and tensor.grad_fn is not None else (
        node.name() if tensor is None else "a leaf tensor")
    owner = f"output 0 of {owner}" if tensor is None or tensor.grad_fn is not None else owner
    changed = f" It was changed in place at {_source.format_where(vc[1])}." if vc[1] else ""
    saved = f" It was saved for backward by {node.name()} at {_source.format_where(node.source)}." \
        if node.source else ""
    return (f"one of the variables needed for gradient computation has been modified by an inplace "
            f"operation: {what}, which is {owner}, is at version {vc[0]}; expected "
            f"version {version} instead.{saved}{changed}")
