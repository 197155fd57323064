"""The static graph IR that tracing produces and the passes rewrite.

A ``Graph`` is a list of ``Node`` in program order. A node has an ``op`` (its kind), a ``target`` (what it
runs), ``args``/``kwargs`` (nested tuples, lists and dicts whose leaves are ``Value`` or Python literals)
and ``outputs`` (``Value``: one SSA value per result, with its shape and dtype).

Kinds:
  ``input``     a tensor argument of the program (``target`` is its position)
  ``ext``       a tensor the program reads from outside (a parameter, a buffer): ``target`` is the Tensor
  ``const``     a constant array (``target``)
  ``op``        a primitive ``Op`` forward: ``target`` is the class; ``meta['ctx']`` when backward needs it
  ``np``        a NumPy call recorded on traced arrays: ``target`` is (kind, callable, name)
  ``backward``  an ``Op``'s backward: ``meta['of']`` is the forward node; outputs are input gradients
  ``guard``     a Python value the program depended on (``bool(t)``, ``t.item()``): checked at run time
  ``effect``    a change of state outside the graph (gradients, in-place writes, optimizer steps)
  ``kernel``    a fused group of elementwise nodes (made by the fusion pass)
  ``output``    the program's results (``args[0]``, a structure of values)
"""
from __future__ import annotations

import numpy as np

PURE = frozenset({"input", "ext", "const", "op", "np", "backward", "kernel"})


class Value:
    """One result of one node: an SSA value."""

    __slots__ = ("id", "node", "index", "shape", "dtype", "fresh")

    def __init__(self, vid: int, node, index: int, shape, dtype) -> None:
        self.id = vid
        self.node = node
        self.index = index
        self.shape = shape  # a tuple, or None for a Python object
        self.dtype = dtype
        self.fresh = False  # known to be a newly allocated array nobody else holds

    def __repr__(self) -> str:
        return f"%{self.id}"

    def describe(self) -> str:
        if self.shape is None:
            return "object"
        return f"{np.dtype(self.dtype).name}{list(self.shape)}"


class Node:
    __slots__ = ("id", "op", "target", "args", "kwargs", "outputs", "meta")

    def __init__(self, nid: int, op: str, target, args=(), kwargs=None, meta=None) -> None:
        self.id = nid
        self.op = op
        self.target = target
        self.args = tuple(args)
        self.kwargs = kwargs or {}
        self.outputs: list[Value] = []
        self.meta = meta or {}

    @property
    def out(self) -> Value:
        return self.outputs[0]

    def inputs(self) -> list[Value]:
        """Every value this node reads (args, kwargs, and for a backward the forward's context)."""
        vals: list[Value] = []
        _leaves(self.args, vals)
        _leaves(self.kwargs, vals)
        extra = self.meta.get("reads")
        if extra:
            vals.extend(extra)
        return vals

    def name(self) -> str:
        t = self.target
        if self.op in ("op", "backward"):
            return t.__name__ + (".backward" if self.op == "backward" else "")
        if self.op == "np":
            return t[2]
        if self.op == "effect":
            return t if isinstance(t, str) else str(t)
        if self.op == "kernel":
            return "fused_kernel"
        return self.op

    def __repr__(self) -> str:
        return format_node(self)


def _leaves(x, acc: list) -> None:
    if isinstance(x, Value):
        acc.append(x)
    elif isinstance(x, (list, tuple)):
        for y in x:
            _leaves(y, acc)
    elif isinstance(x, dict):
        for y in x.values():
            _leaves(y, acc)


def map_values(x, fn):
    """Rebuild a nested structure with ``fn`` applied to every Value leaf."""
    if isinstance(x, Value):
        return fn(x)
    if isinstance(x, tuple):
        return tuple(map_values(y, fn) for y in x)
    if isinstance(x, list):
        return [map_values(y, fn) for y in x]
    if isinstance(x, dict):
        return {k: map_values(v, fn) for k, v in x.items()}
    return x


class Graph:
    """Nodes in program order; ``new`` appends."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self._nid = 0
        self._vid = 0

    def new(self, op: str, target, args=(), kwargs=None, outs=(), meta=None) -> Node:
        """Append a node; ``outs`` is a list of (shape, dtype) for its results."""
        n = Node(self._nid, op, target, args, kwargs, meta)
        self._nid += 1
        for i, (shape, dtype) in enumerate(outs):
            n.outputs.append(Value(self._vid, n, i, shape, dtype))
            self._vid += 1
        self.nodes.append(n)
        return n

    def add_output(self, node: Node, shape, dtype) -> Value:
        v = Value(self._vid, node, len(node.outputs), shape, dtype)
        self._vid += 1
        node.outputs.append(v)
        return v

    def users(self) -> dict:
        """{value id: [nodes reading it]}."""
        u: dict = {}
        for n in self.nodes:
            for v in n.inputs():
                u.setdefault(v.id, []).append(n)
        return u

    def output_node(self) -> Node | None:
        for n in reversed(self.nodes):
            if n.op == "output":
                return n
        return None

    def op_count(self) -> int:
        return sum(1 for n in self.nodes if n.op in ("op", "np", "backward", "kernel"))

    def __str__(self) -> str:
        return "\n".join(format_node(n) for n in self.nodes)

    def __repr__(self) -> str:
        return f"<Graph: {len(self.nodes)} nodes, {self.op_count()} ops>"


def _fmt_arg(x) -> str:
    if isinstance(x, Value):
        return repr(x)
    if isinstance(x, tuple):
        return "(" + ", ".join(_fmt_arg(y) for y in x) + ("," if len(x) == 1 else "") + ")"
    if isinstance(x, list):
        return "[" + ", ".join(_fmt_arg(y) for y in x) + "]"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k}: {_fmt_arg(v)}" for k, v in x.items()) + "}"
    if isinstance(x, np.ndarray):
        return f"<array {x.dtype.name}{list(x.shape)}>"
    if isinstance(x, np.dtype):
        return x.name
    if isinstance(x, type):
        return x.__name__
    r = repr(x)
    return r if len(r) < 40 else r[:37] + "..."


def format_node(n: Node) -> str:
    outs = ", ".join(repr(v) for v in n.outputs)
    lhs = f"{outs} = " if outs else ""
    types = "  # " + ", ".join(v.describe() for v in n.outputs) if n.outputs else ""
    if n.op == "input":
        return f"{lhs}input[{n.target}]{types}"
    if n.op == "ext":
        return f"{lhs}ext {n.meta.get('label', 'tensor')}{types}"
    if n.op == "const":
        return f"{lhs}const {_fmt_arg(n.target)}{types}"
    if n.op == "guard":
        return f"guard {n.meta.get('kind')}({_fmt_arg(n.args[0])}) == {n.meta.get('expected')!r}  " \
               f"# {n.meta.get('where', '')}"
    if n.op == "output":
        return "return " + ", ".join(_fmt_arg(a) for a in n.args)
    if n.op == "kernel":
        inner = "; ".join(format_node(m) for m in n.meta["nodes"])
        return f"{lhs}fused[{inner}]({', '.join(_fmt_arg(a) for a in n.args)}){types}"
    args = ", ".join(_fmt_arg(a) for a in n.args)
    kw = ", ".join(f"{k}={_fmt_arg(v)}" for k, v in n.kwargs.items())
    sep = ", " if args and kw else ""
    return f"{lhs}{n.name()}({args}{sep}{kw}){types}"
