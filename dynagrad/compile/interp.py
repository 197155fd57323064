"""An interpreter for graphs: runs nodes on arrays one by one. The passes use it to fold constants, and the
tests to check that a pass leaves what a graph computes unchanged."""
from __future__ import annotations

import numpy as np

from .ir import Graph, Node, Value, map_values
from .tracer import OutList, TensorArg


def _resolve(x, env):
    def get(v):
        return env[v.id]
    x = map_values(x, get)
    return _unwrap_args(x)


def _unwrap_args(x):
    if isinstance(x, TensorArg):
        raise TypeError
    return x


def run_node(n: Node, env: dict, ctxs: dict | None = None) -> list:
    """The results of one node, given the arrays of its inputs in ``env`` ({value id: array})."""
    if n.op == "const":
        return [n.target]
    if n.op == "op":
        from ..tensor import Tensor
        args = map_values(n.args, lambda v: env[v.id])
        lists = {}

        def kw_val(x):
            if isinstance(x, OutList):
                lists[x.key] = []
                return lists[x.key]
            if isinstance(x, TensorArg):
                return Tensor._wrap(env[x.value.id])
            return map_values(x, lambda v: env[v.id])
        kwargs = {k: kw_val(v) for k, v in n.kwargs.items()}
        ctx = None
        if n.meta.get("ctx") and ctxs is not None:
            ctx = object.__new__(n.target)
            ctx.edges = n.meta["edges"]
            ctx.meta = n.meta["nd"]
            ctxs[n.id] = ctx
        res = n.target.forward(ctx, *args, **kwargs)
        res = list(res) if isinstance(res, tuple) else [res]
        for vals in lists.values():
            res.extend(vals)
        return [np.asarray(r) for r in res]
    if n.op == "np":
        kind, fn, name = n.target
        args = map_values(n.args, lambda v: env[v.id])
        kwargs = map_values(n.kwargs, lambda v: env[v.id])
        if kind == "setitem":
            a, idx, val = args
            out = a.copy()
            out[idx] = val
            return [out]
        if kind == "ufunc":
            m = n.meta.get("method", "__call__")
            f = fn if m == "__call__" else getattr(fn, m)
            res = f(*args, **kwargs)
        else:
            res = fn(*args, **kwargs)
        res = list(res) if isinstance(res, tuple) else [res]
        out = [np.asarray(r) for r in res]
        inplace = n.meta.get("inplace")
        if inplace is not None:
            out = [o.astype(env[inplace.id].dtype, copy=False) for o in out]
        return out
    if n.op == "backward":
        g = map_values(n.args[0], lambda v: env[v.id])
        saved = [map_values(a, lambda v: env[v.id]) for a in n.args[1:]]
        res = n.target.backward(ctxs[n.meta["of"].id], g, *saved)
        return [res[i] for i in n.meta["index"]]
    if n.op == "kernel":
        from .fusion import run_kernel
        return run_kernel(n, env)
    raise NotImplementedError(n.op)


def run_graph(g: Graph, inputs: dict) -> dict:
    """Run a pure graph: ``inputs`` maps input positions (and ext tensors' ids) to arrays, and
    ``("grad", k)`` to the gradient of output k when the backward program should run too; returns the
    environment ({value id: array}). Effects and guards are not supported here."""
    env: dict = {}
    ctxs: dict = {}
    backward = any(isinstance(k, tuple) for k in inputs)
    for n in g.nodes:
        if n.meta.get("phase") == "bwd" and not backward:
            continue
        if n.op == "input":
            env[n.out.id] = inputs[n.target]
        elif n.op == "ext":
            env[n.out.id] = inputs.get(id(n.target), n.target._data)
        elif n.op in ("output", "bwd_output", "guard"):
            continue
        else:
            for v, r in zip(n.outputs, run_node(n, env, ctxs)):
                env[v.id] = r
    return env


def outputs(g: Graph, env: dict) -> list:
    out = g.output_node()
    return [env[v.id] for v in out.args] if out is not None else []


__all__ = ["run_node", "run_graph", "outputs", "Value"]
