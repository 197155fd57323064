"""Passes over the IR. Each is small, takes a Graph, rewrites it in place and returns it.

* ``dce``              dead-code elimination: drop pure nodes whose results nobody uses
* ``cse``              common-subexpression elimination: one node for identical computations
* ``fold_constants``   compute nodes whose inputs are all constants once, at compile time
* ``simplify``         algebra: x*1, x+0, x-0, x/1, a double transpose, reshape of a reshape, a cast to
                       the same dtype, copies nothing writes to, ``x[...] = v`` of a whole value
* ``sink_effects``     move side effects after the value checks (guards), so a failed check leaves no trace
* ``plan_grads``       a gradient the program itself set to None is assigned, not accumulated
* fusion and buffer planning live in ``fusion.py`` and ``memory.py``
"""
from __future__ import annotations

import numpy as np

from .ir import Graph, Node, Value, map_values

_ALWAYS_LIVE = ("output", "bwd_output", "guard", "effect")


def is_effect(n: Node) -> bool:
    return n.op == "effect" or bool(n.meta.get("effect"))


def dce(g: Graph) -> Graph:
    """Remove pure nodes none of whose outputs are read by a live node."""
    live: set = set()
    keep: list = []
    for n in reversed(g.nodes):
        if n.op in _ALWAYS_LIVE or is_effect(n) or any(v.id in live for v in n.outputs):
            keep.append(n)
            for v in n.inputs():
                live.add(v.id)
            if n.op == "backward":
                live.add(n.meta["of"].outputs[0].id)
    keep.reverse()
    g.nodes = keep
    return g


# -- common subexpressions ---------------------------------------------------------------------------------

def _hashable(x):
    if isinstance(x, Value):
        return ("%", x.id)
    if isinstance(x, (list, tuple)):
        return (type(x).__name__,) + tuple(_hashable(y) for y in x)
    if isinstance(x, dict):
        return ("dict",) + tuple((k, _hashable(v)) for k, v in x.items())
    if isinstance(x, np.ndarray):
        raise TypeError
    if isinstance(x, slice):
        return ("slice", _hashable(x.start), _hashable(x.stop), _hashable(x.step))
    hash(x)
    return (type(x).__name__, x)


def _replace(g: Graph, mapping: dict) -> None:
    if not mapping:
        return

    def sub(v):
        return mapping.get(v.id, v)
    for n in g.nodes:
        n.args = map_values(n.args, sub)
        n.kwargs = map_values(n.kwargs, sub)
        if "reads" in n.meta:
            n.meta["reads"] = [sub(v) for v in n.meta["reads"]]
        for k in ("write", "inplace"):
            if isinstance(n.meta.get(k), Value):
                n.meta[k] = sub(n.meta[k])


def cse(g: Graph) -> Graph:
    """Merge pure nodes computing the same thing from the same values (an op's forward with a context is
    kept apart: its backward needs its own)."""
    seen: dict = {}
    mapping: dict = {}
    keep = []
    for n in g.nodes:
        n.args = map_values(n.args, lambda v: mapping.get(v.id, v))
        n.kwargs = map_values(n.kwargs, lambda v: mapping.get(v.id, v))
        if _pure(n):
            try:
                key = (n.op, _target_key(n), _hashable(n.args), _hashable(n.kwargs), n.meta.get("method"))
            except TypeError:
                keep.append(n)
                continue
            prev = seen.get(key)
            if prev is not None and len(prev.outputs) == len(n.outputs):
                for a, b in zip(n.outputs, prev.outputs):
                    mapping[a.id] = b
                continue
            seen[key] = n
        elif n.op == "const":
            key = ("const", n.target.dtype.str, n.target.shape, n.target.tobytes()) \
                if isinstance(n.target, np.ndarray) and n.target.size <= 64 else None
            if key is not None:
                prev = seen.get(key)
                if prev is not None:
                    mapping[n.out.id] = prev.out
                    continue
                seen[key] = n
        keep.append(n)
    g.nodes = keep
    _replace(g, mapping)
    return g


def _pure(n: Node) -> bool:
    """A node whose result depends only on its inputs (and that can be shared or dropped)."""
    if n.op not in ("op", "np") or is_effect(n) or n.meta.get("ctx") or n.meta.get("outlists"):
        return False
    if n.op == "np" and (n.meta.get("inplace") is not None or n.target[0] == "setitem"):
        return False
    return True


def _has_sym(n: Node) -> bool:
    return bool(n.meta.get("symbolic"))


def _target_key(n: Node):
    t = n.target
    if n.op == "np":
        return (t[0], id(t[1]), t[2])
    return id(t)


# -- constants -----------------------------------------------------------------------------------------------

def fold_constants(g: Graph, max_size: int = 1 << 16) -> Graph:
    """Evaluate pure nodes whose inputs are all constants (and whose results are small)."""
    from .interp import run_node

    consts: dict = {}
    for n in g.nodes:
        if n.op == "const":
            consts[n.out.id] = n.target
    new_nodes = []
    for n in g.nodes:
        ins = n.inputs()
        if _pure(n) and not _has_sym(n) and ins and all(v.id in consts for v in ins) and \
                all(v.shape is not None and int(np.prod(v.shape)) <= max_size for v in n.outputs):
            try:
                res = run_node(n, consts)
            except Exception:  # noqa: BLE001 - leave anything odd to run time
                new_nodes.append(n)
                continue
            for v, r in zip(n.outputs, res):
                r = np.asarray(r)
                c = Node(n.id, "const", r, (), {}, {"folded": n.name()})
                c.outputs = [v]
                v.node = c
                v.index = 0
                consts[v.id] = r
                new_nodes.append(c)
            continue
        new_nodes.append(n)
    g.nodes = new_nodes
    return g


# -- algebra -------------------------------------------------------------------------------------------------

def _is_const(v, value) -> bool:
    n = v.node if isinstance(v, Value) else None
    if n is None:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and v == value
    if n.op == "const":
        a = np.asarray(n.target)
        return a.size == 1 and a.reshape(()) == value
    return False


def simplify(g: Graph) -> Graph:
    """x*1, 1*x, x+0, 0+x, x-0, x/1 -> x (when x already has the result's shape and dtype), double
    transposes/permutes cancel, a reshape of a reshape is one reshape, a cast to x's own dtype is x."""
    from . import opinfo

    mapping: dict = {}
    users = g.users()
    for n in g.nodes:
        n.args = map_values(n.args, lambda v: mapping.get(v.id, v))
        n.kwargs = map_values(n.kwargs, lambda v: mapping.get(v.id, v))
        if is_effect(n) or n.meta.get("ctx") or len(n.outputs) != 1:
            continue
        out = n.out
        kind = opinfo.kind(n)
        if kind == "reshape" and n.meta.get("symbolic"):
            continue
        r = None
        if kind in ("mul", "add", "sub", "div") and len(n.args) == 2:
            a, b = n.args
            unit = 1 if kind in ("mul", "div") else 0
            if _is_const(b, unit) and _same(a, out):
                r = a
            elif kind in ("mul", "add") and _is_const(a, unit) and _same(b, out):
                r = b
        elif kind in ("transpose", "permute"):
            src = n.args[0]
            if isinstance(src, Value) and opinfo.kind(src.node) in ("transpose", "permute") and \
                    not src.node.meta.get("ctx"):
                p1 = opinfo.perm(src.node)
                p2 = opinfo.perm(n)
                if p1 is not None and p2 is not None and [p1[i] for i in p2] == list(range(len(p1))):
                    r = src.node.args[0]
        elif kind == "reshape":
            src = n.args[0]
            if isinstance(src, Value) and src.shape == out.shape and _same(src, out):
                r = src
            elif isinstance(src, Value) and opinfo.kind(src.node) == "reshape" and not src.node.meta.get("ctx"):
                opinfo.set_reshape_source(n, src.node.args[0])
        elif kind == "astype":
            src = n.args[0]
            if isinstance(src, Value) and src.dtype == out.dtype and src.shape == out.shape:
                r = src
        elif kind == "setitem_all":  # x[...] = v with v of x's shape and dtype (an in-place op's write)
            v = n.args[2]
            if _same(v, out):
                r = v
        elif kind == "copy":
            src = n.args[0]
            if isinstance(src, Value) and not any(u.op not in ("op", "np", "kernel", "guard") or
                                                  _as_kwarg_tensor(u, out) for u in users.get(out.id, ())):
                r = src
        if isinstance(r, Value):
            mapping[out.id] = r
    _replace(g, mapping)
    return dce(g)


def _as_kwarg_tensor(u: Node, v: Value) -> bool:
    from .tracer import TensorArg
    return any(isinstance(k, TensorArg) and k.value is v for k in u.kwargs.values())


def _same(a, out) -> bool:
    return isinstance(a, Value) and a.shape == out.shape and np.dtype(a.dtype) == np.dtype(out.dtype)


# -- effects -------------------------------------------------------------------------------------------------

def sink_effects(g: Graph) -> Graph:
    """Move each side effect down past nodes that neither read what it produced nor are effects, so the
    value checks (guards) of a program run before anything outside it changes."""
    nodes = g.nodes
    out = []
    pending: list = []  # effects waiting, in order
    produced: set = set()
    for n in nodes:
        if is_effect(n) or n.op in ("output", "bwd_output") or n.meta.get("phase") == "bwd" or \
                (n.op == "ext" and n.meta.get("path") == ("grad",)):
            if is_effect(n):
                pending.append(n)
                produced.update(v.id for v in n.outputs)
            else:
                out.extend(pending)
                pending.clear()
                produced.clear()
                out.append(n)
            continue
        if pending and any(v.id in produced for v in n.inputs()):
            out.extend(pending)
            pending.clear()
            produced.clear()
        out.append(n)
    out.extend(pending)
    # no effect may precede a guard
    seen_effect = False
    for n in out:
        if is_effect(n):
            seen_effect = True
        elif n.op == "guard" and seen_effect and not n.meta.get("free"):
            from .tracer import Unsupported, format_site
            raise Unsupported(f"a tensor value is read after a side effect (at {format_site(n.meta.get('where'))})")
    g.nodes = out
    return g


def plan_grads(g: Graph, grad_state: dict) -> Graph:
    """``acc_grad`` into a .grad known to be None (set so earlier in the program, or None on entry and
    guarded) is a plain assignment."""
    known_none = {k for k, (leaf, was_none) in grad_state.items() if was_none}
    for n in g.nodes:
        if n.op != "effect":
            continue
        if n.target == "set_grad_none":
            known_none.add(id(n.meta["leaf"]))
        elif n.target == "set_grad":
            known_none.discard(id(n.meta["leaf"]))
        elif n.target == "acc_grad":
            kind, obj = n.meta["leaf"]
            key = id(obj) if kind == "tensor" else None
            if kind == "input":
                key = next((k for k, (leaf, _) in grad_state.items() if leaf is obj), None)
            if key in known_none:
                n.meta["assign"] = True
            known_none.discard(key)
        elif n.target == "optimizer_step":
            pass
    return g


def default_pipeline(g: Graph, grad_state: dict, level: int = 2) -> Graph:
    dce(g)
    if level >= 1:
        fold_constants(g)
        cse(g)
        simplify(g)
    sink_effects(g)
    plan_grads(g, grad_state)
    return g
