"""The backward engine: reverse-mode differentiation over the recorded graph, without recursion.

``run_backward`` counts, for every node reachable from the roots, how many edges lead into it, then runs
nodes whose count has dropped to zero, handing each gradient on once. Gradients arriving at a node are
summed first; broadcasting is undone here, once, rather than in every op; leaves accumulate into ``.grad``.
A node drops what it saved as soon as it has run unless ``retain_graph``.
"""
from __future__ import annotations

from weakref import ref as _weakref

from .. import _source
from .._threads import adapt as _adapt_threads
from ..backend import xp
from . import state
from .graph import _RELEASED, Node

_T = None


def _tensor_cls():
    global _T
    if _T is None:
        from ..tensor import Tensor
        _T = Tensor
    return _T


def _sum_to(g, shape):
    """Sum ``g`` down to ``shape`` (the inverse of broadcasting)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1)
    if isinstance(g, xp.ndarray):
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        return g.reshape(shape)
    if axes:
        g = g.sum(dim=axes, keepdim=True)
    return g.reshape(shape)


def _check_shape(g, shape, node) -> None:
    # after _sum_to a gradient must have the input's shape exactly; anything else is an op's bug
    if tuple(g.shape) != tuple(shape):
        raise RuntimeError(f"Function {node.name()} returned an invalid gradient - got shape "
                           f"{list(g.shape)} but expected shape compatible with {list(shape)}")


def run_backward(roots, grads, retain_graph: bool, create_graph: bool, inputs=None,
                 allow_unused: bool = False, accumulate: bool = True):
    """Backpropagate ``grads`` from ``roots`` (Tensors).

    With ``accumulate`` (``Tensor.backward``) leaf gradients go into ``.grad`` (only into ``inputs`` when
    given); without it (``autograd.grad``) the gradients of ``inputs`` are returned instead.
    """
    tr = state.tracer
    if tr is not None and not tr.depth:  # dynagrad.compile records this backward into the program
        return tr.backward(roots, grads, retain_graph, create_graph, inputs, allow_unused, accumulate)
    T = _tensor_cls()
    where = _source.user_frame(2)
    _adapt_threads()  # once per backward: size the BLAS pool to the cores other processes leave free
    # -- seed the root gradients ---------------------------------------------------------------------
    buffers: dict = {}
    start = []
    for t, g in zip(roots, grads):
        target = t.grad_fn if t.grad_fn is not None else t
        gv = g if create_graph else (g._data if isinstance(g, T) else g)
        if isinstance(target, Node):
            buf = buffers.get(target)
            if buf is None:
                buf = buffers[target] = [None] * len(target.meta)
                start.append(target)
            nr = t._output_nr
            buf[nr] = gv if buf[nr] is None else buf[nr] + gv
        else:
            buf = buffers.get(target)
            buffers[target] = gv if buf is None else buf + gv
            start.append(target)

    # -- count dependencies (iteratively: graphs may be 100k nodes deep) ------------------------------
    deps: dict = {}
    stack = [n for n in start if isinstance(n, Node)]
    roots_set = set(stack) if len(stack) > 1 else ()  # a root reached from another is expanded only once
    order = []
    while stack:
        node = stack.pop()
        order.append(node)
        for target, _ in node.edges:
            if target is None:
                continue
            d = deps.get(target)
            if d is None:
                deps[target] = 1
                if isinstance(target, Node) and target not in roots_set:
                    stack.append(target)
            else:
                deps[target] = d + 1
    if state.sample_graph:  # every 8th step: lets memory notice graphs kept alive across steps
        state.sample_graph = False
        state.graph_sample = ([_weakref(n) for n in order[::max(1, len(order) // 16)]], {id(n) for n in order})

    # -- with inputs, run only what leads to them ---------------------------------------------------
    wanted = target_map = None
    captured = {}
    if inputs is not None:
        target_map = {}
        for i, t in enumerate(inputs):
            key = t.grad_fn if t.grad_fn is not None else t
            target_map.setdefault(key, []).append((i, t))
        wanted = _needed(order, target_map)

    ready = [n for n in start if n not in deps]
    given = {id(g) for g in buffers.values() if not isinstance(g, list)}
    prev_mode = state.grad_enabled
    state.grad_enabled = create_graph
    anomaly = state.anomaly_enabled
    prof = state.profiler
    if prof is not None:
        prof_ev = prof._begin("autograd::backward", "backward")
    try:
        while ready:
            node = ready.pop()
            buf = buffers.pop(node, None)
            if not isinstance(node, Node):  # a leaf: accumulate
                if buf is None:
                    continue
                if target_map is not None:
                    hits = target_map.get(node)
                    if hits is None:
                        continue
                    for i, _ in hits:
                        captured[i] = buf
                    if not accumulate:
                        continue
                _accumulate(node, buf, create_graph, given)
                continue
            if buf is None:
                buf = [None] * len(node.meta)
            if target_map is not None:
                if node not in wanted and node not in target_map:
                    _skip(node, deps, ready)
                    continue
                if node._tensor_hooks or node._retained:
                    buf = _run_tensor_hooks(node, buf)
                hits = target_map.get(node)
                if hits:
                    for i, t in hits:
                        captured[i] = buf[t._output_nr]
                if node not in wanted:  # a requested input that leads to no other: stop here, as PyTorch
                    _skip(node, deps, ready)
                    continue
            elif node._tensor_hooks or node._retained:
                buf = _run_tensor_hooks(node, buf)
            if node._pre_hooks:
                for hook in node._pre_hooks:
                    res = hook(_as_tensors(buf))
                    if res is not None:
                        buf = [None if r is None else (r if create_graph else r._data) for r in res]
            if len(buf) == 1:
                if buf[0] is None:
                    grads_in = (None,) * len(node.edges)
                elif prof is None:
                    grads_in = node.run_backward(buf, create_graph)
                else:
                    grads_in = prof.time_backward(node, buf, create_graph)
            elif all(g is None for g in buf):
                grads_in = (None,) * len(node.edges)
            else:
                if node.materialize_grads:
                    buf = [g if g is not None else _zeros(m, create_graph) for g, m in zip(buf, node.meta)]
                grads_in = node.run_backward(buf, create_graph) if prof is None else \
                    prof.time_backward(node, buf, create_graph)
            if node._hooks:
                for hook in node._hooks:
                    res = hook(_as_tensors(grads_in), _as_tensors(buf))
                    if res is not None:
                        grads_in = [None if r is None else (r if create_graph else r._data) for r in res]
            if anomaly:
                from .anomaly import check_grads
                check_grads(node, grads_in)
            if not retain_graph:
                if node.saved:
                    node.saved = _RELEASED
                node.freed_at = where
            for (target, nr), g in zip(node.edges, grads_in):
                if target is None:
                    continue
                if g is not None:
                    if isinstance(target, Node):
                        shape, dt = target.meta[nr]
                    else:
                        arr = target._data
                        shape, dt = arr.shape, arr.dtype
                    if g.shape != shape:
                        g = _sum_to(g, shape)
                        _check_shape(g, shape, node)
                    if create_graph:
                        if g._data.dtype != dt:
                            g = _cast_grad(g, dt)
                    elif g.dtype is not dt and g.dtype != dt:
                        # a real input of an op with a complex result takes the real part (as PyTorch)
                        g = (g.real if g.dtype.kind == "c" and dt.kind != "c" else g).astype(dt)
                    b = buffers.get(target)
                    if isinstance(target, Node):
                        if b is None:
                            b = buffers[target] = [None] * len(target.meta)
                        b[nr] = g if b[nr] is None else b[nr] + g
                    else:
                        buffers[target] = g if b is None else b + g
                d = deps[target] - 1
                deps[target] = d
                if d == 0:
                    ready.append(target)
    finally:
        state.grad_enabled = prev_mode
        if prof is not None:
            prof._end(prof_ev)
    if inputs is not None and accumulate:  # backward(inputs=[...]) fills .grad of non-leaf inputs too
        for i, t in enumerate(inputs):
            g = captured.get(i)
            if g is not None and t.grad_fn is not None:
                gt = g if create_graph else T._wrap(xp.array(g, copy=True))
                t.grad = gt if t.grad is None else t.grad + gt
    if inputs is not None and not accumulate:
        out = []
        for i in range(len(inputs)):
            g = captured.get(i)
            if g is None:
                if not allow_unused:
                    raise RuntimeError("One of the differentiated Tensors appears to not have been used in "
                                       "the graph. Set allow_unused=True if this is the desired behavior.")
                out.append(None)
            else:
                out.append(g if create_graph else T._wrap(g if type(g) is xp.ndarray else xp.asarray(g)))
        return tuple(out)
    return None


def _needed(order, target_map) -> set:
    """Nodes that must run: those with an edge leading (eventually) to a requested input. A requested
    input's own node runs only if another requested input lies beyond it."""
    reach = set(target_map)  # targets, and nodes from which a target can be reached
    needed = set()
    changed = True
    while changed:  # ``order`` is a DFS order from the roots, so this converges in a pass or two
        changed = False
        for node in reversed(order):
            if node in needed:
                continue
            for tg, _ in node.edges:
                if tg is not None and tg in reach:
                    needed.add(node)
                    reach.add(node)
                    changed = True
                    break
    return needed




def _zeros(meta, create_graph):
    shape, dt = meta
    z = xp.zeros(shape, dt)
    if create_graph:
        from ..tensor import Tensor
        return Tensor._wrap(z)
    return z


def _cast_grad(g, dt):
    """A Tensor gradient cast to its input's dtype; a real input takes the real part of a complex one."""
    if g._data.dtype.kind == "c" and dt.kind != "c":
        from ..ops.math import real
        g = real(g)
    return g.to(_dtype_of(dt)) if g._data.dtype != dt else g


def _dtype_of(np_dtype):
    from ..dtypes import from_numpy
    return from_numpy(np_dtype)


def _as_tensors(grads):
    from ..tensor import Tensor
    return tuple(None if g is None else (g if isinstance(g, Tensor) else Tensor._wrap(g)) for g in grads)


def _run_tensor_hooks(node, grads_out):
    """Hooks registered with Tensor.register_hook on this node's outputs, then retain_grad captures."""
    hooks = node._tensor_hooks
    if hooks:
        from ..tensor import Tensor
        grads_out = list(grads_out)
        for nr, fns in hooks.items():
            g = grads_out[nr]
            if g is None:
                continue
            for fn in fns:
                wrapped = g if isinstance(g, Tensor) else Tensor._wrap(g)
                res = fn(wrapped)
                if res is not None:
                    g = res if isinstance(g, Tensor) else res._data
            grads_out[nr] = g
    retained = node._retained
    if retained:
        from ..tensor import Tensor
        for nr, ref in retained.items():
            t = ref()
            g = grads_out[nr]
            if t is None or g is None:
                continue
            gt = g.detach() if isinstance(g, Tensor) else Tensor._wrap(xp.array(g, copy=True))
            if t.grad is None:
                t.grad = gt
            else:
                t.grad = t.grad + gt
    return grads_out


def _accumulate(leaf, g, create_graph: bool, given: set) -> None:
    from ..tensor import Tensor

    if leaf._hooks:
        for fn in leaf._hooks:
            wrapped = g if isinstance(g, Tensor) else Tensor._wrap(g)
            res = fn(wrapped)
            if res is not None:
                g = res if create_graph else res._data
    if create_graph:
        gt = g if isinstance(g, Tensor) else Tensor._wrap(g)
        leaf.grad = gt if leaf.grad is None else leaf.grad + gt
    else:
        if type(g) is not xp.ndarray:  # a NumPy scalar from an op on 0-d arrays
            g = xp.asarray(g)
        grad = leaf._grad
        if grad is None:
            # the buffer may be shared (e.g. add's backward hands the same array to both inputs): copy
            # it unless it is a fresh array nobody else holds
            if g.base is not None or id(g) in given or not g.flags.writeable:
                g = g.copy()
            given.add(id(g))
            leaf._grad = Tensor._wrap(g)
        else:
            if grad._requires_grad:
                leaf._grad = grad + Tensor._wrap(g)
            else:
                grad._data += g
                grad._vc[0] += 1
    post = leaf._post_hooks
    if post:
        for fn in post:
            fn(leaf)


def _skip(node, deps, ready) -> None:
    # a node that leads to no requested input: skip it but keep the dependency counts moving
    for target, _ in node.edges:
        if target is None:
            continue
        d = deps[target] - 1
        deps[target] = d
        if d == 0:
            ready.append(target)
