"""Backward in the trace: the engine's walk, replayed on the graph the traced forward built.

``loss.backward()`` (or ``autograd.grad``) inside a traced program does not run the engine: the nodes are
visited in the engine's order (dependency counts, a ready stack, no recursion) and each one's backward is
recorded as a ``backward`` IR node that calls the op's own ``backward`` on the saved values, followed by
the engine's bookkeeping as NumPy nodes (summing a gradient down to a broadcast input's shape, casting,
accumulating). So the compiled backward computes exactly what the eager engine does, with the same
formulas, and values are computed while tracing too (the first call returns the eager result).

When a compiled function returns tensors that require grad (``model = dynagrad.compile(model)``), the same
walk, started from placeholder gradients, records the backward program of a single graph node
(``runtime.CompiledNode``) that the returned tensors hang from.
"""
from __future__ import annotations

import numpy as np

from ..autograd.engine import _sum_to
from ..autograd.engine import run_backward as _engine_backward
from ..autograd.function import _NOT_NEEDED, Op
from ..autograd.graph import _RELEASED, Node
from ..tensor import Tensor
from .tracer import TArray, Tracer, Unsupported, _plain


def _key(x):
    return id(x)


class _GV:
    """A gradient while the walk runs: its trace-time array, its Value, and whether the array is a fresh
    one that nothing else holds (then it can become a ``.grad`` without a copy, as the engine does)."""

    __slots__ = ("a", "v", "fresh")

    def __init__(self, a, v, fresh=False) -> None:
        self.a = a
        self.v = v
        self.fresh = fresh


def _np(tr: Tracer, target, name, args, kwargs, result, fresh=False) -> _GV:
    node = tr.g.new("np", (target[0], target[1], name), args, kwargs, [(result.shape, result.dtype)])
    node.meta["phase"] = tr.phase
    node.meta["method"] = "__call__" if target[0] == "ufunc" else None
    return _GV(result, node.out, fresh)


def _add(tr, a: _GV, b: _GV) -> _GV:
    r = np.add(a.a, b.a)
    fresh = isinstance(r, np.ndarray)
    r = np.asarray(r)
    return _np(tr, ("ufunc", np.add, "__call__"), "add", (a.v, b.v), {}, r, fresh)


def traced_backward(tr: Tracer, roots, grads, retain_graph, create_graph, inputs=None, allow_unused=False,
                    accumulate=True):
    """``autograd.run_backward`` while tracing."""
    if tr.depth:
        return _engine_backward(roots, grads, retain_graph, create_graph, inputs=inputs,
                                allow_unused=allow_unused, accumulate=accumulate)
    try:
        return _traced_backward(tr, roots, grads, retain_graph, create_graph, inputs, allow_unused, accumulate)
    except Unsupported as e:
        tr.fail(e)
        return _engine_backward(roots, grads, retain_graph, create_graph, inputs=inputs,
                                allow_unused=allow_unused, accumulate=accumulate)


def _traced_backward(tr, roots, grads, retain_graph, create_graph, inputs, allow_unused, accumulate):
    if create_graph:
        raise Unsupported("backward with create_graph=True (higher-order gradients) cannot be compiled")
    seeds = []
    for t, g in zip(roots, grads):
        garr = g._data if isinstance(g, Tensor) else np.asarray(g)
        gv = tr.array_value(garr) if isinstance(garr, TArray) else tr.const(np.asarray(garr))
        target = t.grad_fn if t.grad_fn is not None else t
        seeds.append((target, t._output_nr, _GV(_plain(garr), gv)))
    captured = walk(tr, seeds, inputs, retain_graph, accumulate=accumulate)
    if inputs is not None and not accumulate:
        out = []
        for i, _ in enumerate(inputs):
            gv = captured.get(i)
            if gv is None:
                if not allow_unused:
                    raise RuntimeError("One of the differentiated Tensors appears to not have been used in the "
                                       "graph. Set allow_unused=True if this is the desired behavior.")
                out.append(None)
                continue
            t = Tensor._wrap(np.array(gv.a, copy=True) if gv.a.base is not None else gv.a)
            tr.tag_tensor(t, gv.v)
            out.append(t)
        return tuple(out)
    return None


def walk(tr: Tracer, seeds, inputs, retain_graph: bool, accumulate: bool = True, on_boundary=None):
    """The engine's loop over the recorded graph, emitting IR. Leaves get ``acc_grad`` effects (or, with
    ``on_boundary``, are handed to it: the backward program of a compiled node)."""
    buffers: dict = {}
    objs: dict = {}
    start = []
    for target, nr, gv in seeds:
        k = _key(target)
        objs[k] = target
        if isinstance(target, Node):
            buf = buffers.get(k)
            if buf is None:
                buf = buffers[k] = [None] * len(target.meta)
                start.append(target)
            buf[nr] = gv if buf[nr] is None else _add(tr, buf[nr], gv)
        else:
            b = buffers.get(k)
            buffers[k] = gv if b is None else _add(tr, b, gv)
            start.append(target)

    deps: dict = {}
    stack = [n for n in start if isinstance(n, Node)]
    roots = {_key(n) for n in stack}  # as the engine: a root reached from another root is visited once
    order = []
    while stack:
        node = stack.pop()
        order.append(node)
        if _key(node) not in tr.ctx_nodes:
            continue  # a boundary: the walk does not go through it
        for target, _ in node.edges:
            if target is None:
                continue
            k = _key(target)
            d = deps.get(k)
            if d is None:
                deps[k] = 1
                objs[k] = target
                if isinstance(target, Node) and k not in roots:
                    stack.append(target)
            else:
                deps[k] = d + 1

    target_map = wanted = None
    captured: dict = {}
    if inputs is not None:
        target_map = {}
        for i, t in enumerate(inputs):
            key = t.grad_fn if t.grad_fn is not None else t
            target_map.setdefault(_key(key), []).append((i, t))
        wanted = _needed(tr, order, target_map)

    ready = [n for n in start if _key(n) not in deps]
    releases: list = []
    leaves: list = []
    while ready:
        node = ready.pop()
        k = _key(node)
        buf = buffers.pop(k, None)
        if not isinstance(node, Node):  # a leaf
            if buf is None:
                continue
            if target_map is not None:
                hits = target_map.get(k)
                if hits is None:
                    continue
                for i, _ in hits:
                    captured[i] = buf
                if not accumulate:
                    continue
            if on_boundary is not None:
                on_boundary(node, 0, buf)
            else:
                check_leaf(tr, node)
                leaves.append((node, buf))
            continue
        if wanted is not None and k not in wanted:
            _skip(node, deps, ready)
            continue
        entry = tr.ctx_nodes.get(k)
        if entry is None:
            if on_boundary is not None and buf is not None:
                for nr, gv in enumerate(buf):
                    if gv is not None:
                        on_boundary(node, nr, gv)
                continue
            raise Unsupported(f"backward reaches {node.name()}, which was not recorded by the compiled function "
                              f"(a graph built outside it, a custom autograd.Function, or an in-place change "
                              f"of a view)")
        if node._tensor_hooks or node._retained or node._pre_hooks or node._hooks:
            raise Unsupported(f"{node.name()} has hooks (register_hook / retain_grad); they run eagerly")
        if buf is None:
            buf = [None] * len(node.meta)
        if target_map is not None:
            hits = target_map.get(k)
            if hits:
                for i, t in hits:
                    captured[i] = buf[t._output_nr]
        fwd = entry[1]
        if all(g is None for g in buf):
            grads_in = (None,) * len(node.edges)
        else:
            if len(buf) > 1 and node.materialize_grads:
                for i, (g, (shape, dt)) in enumerate(zip(buf, node.meta)):
                    if g is None:
                        z = np.zeros(shape, dt)
                        buf[i] = _GV(z, tr.const(z))
            grads_in = _run(tr, node, fwd, buf)
        if not retain_graph:
            releases.append(node)
        for (target, nr), g in zip(node.edges, grads_in):
            if target is None:
                continue
            tk = _key(target)
            if g is not None:
                if isinstance(target, Node):
                    shape, dt = target.meta[nr]
                else:
                    arr = target._data
                    shape, dt = arr.shape, arr.dtype
                if g.a.shape != shape:
                    r = _sum_to(g.a, shape)
                    if tuple(r.shape) != tuple(shape):
                        raise RuntimeError(f"Function {node.name()} returned an invalid gradient - got shape "
                                           f"{list(g.a.shape)} but expected shape compatible with {list(shape)}")
                    g = _np(tr, ("func", _sum_to, "sum_to"), "sum_to", (g.v, tuple(shape)), {}, np.asarray(r))
                if g.a.dtype != dt:
                    g = _np(tr, ("method", np.ndarray.astype, "astype"), "astype", (g.v, np.dtype(dt)), {},
                            g.a.astype(dt), True)
                if isinstance(target, Node):
                    b = buffers.get(tk)
                    if b is None:
                        b = buffers[tk] = [None] * len(target.meta)
                    b[nr] = g if b[nr] is None else _add(tr, b[nr], g)
                else:
                    b = buffers.get(tk)
                    buffers[tk] = g if b is None else _add(tr, b, g)
            d = deps[tk] - 1
            deps[tk] = d
            if d == 0:
                ready.append(target)
    if target_map is None and buffers:
        # a gradient that never reached its destination: the replay disagrees with the engine, so nothing
        # compiled from it can be trusted
        raise Unsupported("the recorded backward did not deliver every gradient (internal: dependency counts)")
    # nothing changed until the walk went through: only now free saved values and touch .grad
    for node in releases:
        if node.saved:
            node.saved = _RELEASED
        tr.released.add(_key(node))
    for leaf, gv in leaves:
        acc_grad(tr, leaf, gv)
    return captured


def _run(tr: Tracer, node: Op, fwd, buf) -> list:
    """Run ``node``'s backward now and record it; returns one _GV (or None) per edge."""
    cls = type(node)
    saved = []
    if node.saved is _RELEASED:
        node.unpack(False)  # raises PyTorch's "backward through the graph a second time" error
    if node.saved:
        for j, i in enumerate(cls.save):  # what no wanted gradient reads is not kept (as eagerly: save_needed_by)
            saved.append(None if node.saved[j] is _NOT_NEEDED else fwd.args[i])
        if cls.save_output:
            saved.append(fwd.outputs[0])
    arrays = [None if g is None else g.a for g in buf]
    if node.saved and isinstance(node.saved, list):  # the formulas see plain arrays, as eagerly (D.* helpers)
        node.saved = [(t, _plain(a) if isinstance(a, TArray) else a, vc, ver) for t, a, vc, ver in node.saved]
    tr.depth += 1
    try:
        res = node.run_backward(arrays, False)
    finally:
        tr.depth -= 1
    if not isinstance(res, (tuple, list)):
        res = (res,)
    gargs = buf[0].v if len(buf) == 1 else [None if g is None else g.v for g in buf]
    live = [i for i, (r, (t, _)) in enumerate(zip(res, node.edges)) if r is not None and t is not None]
    outs = []
    for i in live:
        r = res[i]
        if not isinstance(r, np.ndarray):
            res = list(res)
            res[i] = r = np.asarray(r)
        outs.append((r.shape, r.dtype))
    bn = tr.g.new("backward", cls, (gargs,) + tuple(saved), {}, outs,
                  {"of": fwd, "index": live, "nedges": len(node.edges), "phase": tr.phase,
                   "reads": [fwd.outputs[0]]})
    fwd.meta["ctx"] = True
    out = [None] * len(node.edges)
    seen = [g.a for g in buf if g is not None] + [x._data if isinstance(x, Tensor) else x
                                                   for x, *_ in (node.saved or ()) if x is not None]
    outs_arrays = [res[i] for i in live]
    for i, v in zip(live, bn.outputs):
        r = _plain(res[i])
        fresh = r.base is None and r.flags.writeable and not any(r is s or r is _plain(s) for s in seen) and \
            sum(r is o for o in outs_arrays) == 1
        out[i] = _GV(r, v, fresh)
    return out


def check_leaf(tr: Tracer, leaf: Tensor) -> None:
    if leaf._hooks or leaf._post_hooks:
        raise Unsupported("a leaf tensor has gradient hooks; they run eagerly")
    if id(leaf) in tr.made:
        raise Unsupported("backward into a tensor created inside the compiled function")
    g = leaf._grad
    if g is not None and g._requires_grad:
        raise Unsupported("accumulating into a .grad that requires grad")


def acc_grad(tr: Tracer, leaf: Tensor, gv: _GV) -> None:
    """What the engine's ``_accumulate`` does to a leaf, recorded as an effect."""
    if id(leaf) in tr.input_ids:
        target = ("input", tr.input_ids[id(leaf)])
    else:
        tr.tensor_value(leaf)  # an outside leaf (a parameter) is read through its object
        target = ("tensor", leaf)
    tr.accumulated.add(id(leaf))
    cur = tr.grad_get(leaf)
    if cur is None:
        fresh = gv.fresh and id(gv) not in tr.given
        tr.given.add(id(gv))
        arr = gv.a if fresh else gv.a.copy()
        node = tr.g.new("effect", "acc_grad", (gv.v,), {}, [(arr.shape, arr.dtype)],
                        {"leaf": target, "effect": True, "phase": tr.phase, "fresh": fresh})
        t = Tensor._wrap(arr)
        tr.tag_tensor(t, node.out)
        tr.ext_meta[node.out.id] = {"tensor": leaf, "path": ("grad",)}
        tr.grad_written.add(id(leaf))
        leaf._grad = t
        return
    d = cur._data
    d += TArray_of(tr, gv)  # recorded as an in-place add into the outside gradient
    cur._vc[0] += 1


def TArray_of(tr, gv: _GV):  # noqa: N802
    return tr._tag(gv.a, gv.v)


def _needed(tr, order, target_map) -> set:
    needed = set(target_map)
    changed = True
    while changed:
        changed = False
        for node in reversed(order):
            k = _key(node)
            if k in needed:
                continue
            for tg, _ in node.edges:
                if tg is not None and _key(tg) in needed:
                    needed.add(k)
                    changed = True
                    break
    return needed


def _skip(node, deps, ready) -> None:
    for target, _ in node.edges:
        if target is None:
            continue
        k = _key(target)
        d = deps[k] - 1
        deps[k] = d
        if d == 0:
            ready.append(target)
