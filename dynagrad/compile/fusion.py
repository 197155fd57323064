"""Fusion of elementwise chains (and a reduction ending one) into kernels.

A chain of elementwise nodes (``x * 2 + 1`` then ``relu``, a GELU written from primitives, the engine's
gradient accumulation) where each intermediate has a single reader becomes one ``kernel`` node. Its code:

* NumPy (always): the first operation allocates (or writes into a planned buffer, see ``memory.py``) and
  every following one writes into the same array with ``out=``, so an n-op chain makes one array instead
  of n and streams through memory that stays in cache;
* numba (when installed and the kernel is large enough): one loop over the elements, compiled once and
  kept in numba's on-disk cache (the kernel source is written to a cache directory so numba can cache it).

A reduction (``sum``/``max``/``mean`` over axes) reading a chain's result joins it as its last step. Nodes
with a context (their backward needs them as they are), effects and in-place writes end chains.
"""
from __future__ import annotations

import hashlib
import math

import numpy as np

from .ir import Graph, Node, Value

# elementwise vocabulary: name -> (NumPy ufunc, arity, scalar expression for numba)
_UFUNCS = {
    "add": (np.add, 2, "({0} + {1})"), "sub": (np.subtract, 2, "({0} - {1})"),
    "mul": (np.multiply, 2, "({0} * {1})"), "div": (np.true_divide, 2, "({0} / {1})"),
    "neg": (np.negative, 1, "(-{0})"), "exp": (np.exp, 1, "math.exp({0})"), "log": (np.log, 1, "math.log({0})"),
    "tanh": (np.tanh, 1, "math.tanh({0})"), "sqrt": (np.sqrt, 1, "math.sqrt({0})"),
    "abs": (np.absolute, 1, "abs({0})"), "sin": (np.sin, 1, "math.sin({0})"), "cos": (np.cos, 1, "math.cos({0})"),
    "maximum": (np.maximum, 2, "max({0}, {1})"), "minimum": (np.minimum, 2, "min({0}, {1})"),
    "square": (np.square, 1, "({0} * {0})"), "relu": (np.maximum, 1, "max({0}, 0)"),
}
_OPS = {"AddBackward0": "add", "SubBackward0": "sub", "MulBackward0": "mul", "DivBackward0": "div",
        "NegBackward0": "neg", "ExpBackward0": "exp", "LogBackward0": "log", "TanhBackward0": "tanh",
        "SqrtBackward0": "sqrt", "SinBackward0": "sin", "CosBackward0": "cos", "MaximumBackward0": "maximum",
        "MinimumBackward0": "minimum", "SquareBackward": "square", "ReluBackward0": "relu"}
_NP = {np.add: "add", np.subtract: "sub", np.multiply: "mul", np.true_divide: "div", np.negative: "neg",
       np.exp: "exp", np.log: "log", np.tanh: "tanh", np.sqrt: "sqrt", np.absolute: "abs", np.sin: "sin",
       np.cos: "cos", np.maximum: "maximum", np.minimum: "minimum", np.square: "square"}
_REDUCE = {"SumBackward0": np.add, "AmaxBackward0": np.maximum}


def elementwise(n: Node) -> str | None:
    """The vocabulary name of an elementwise node that can join a kernel, else None."""
    if len(n.outputs) != 1 or n.meta.get("ctx") or n.meta.get("effect") or n.meta.get("write") is not None \
            or n.meta.get("inplace") is not None or n.meta.get("symbolic"):
        return None
    if n.op == "op":
        name = _OPS.get(n.target.__name__)
        if name is None or n.kwargs:
            return None
        if name == "relu" and n.out.dtype.kind != "f":
            return None
        return name
    if n.op == "np" and n.target[0] == "ufunc" and n.meta.get("method", "__call__") == "__call__" and not n.kwargs:
        return _NP.get(n.target[1])
    return None


def _reduction(n: Node):
    """(ufunc, axes, keepdims) of a sum/amax node that can end a kernel, else None."""
    if n.op != "op" or n.meta.get("ctx") or len(n.outputs) != 1 or n.meta.get("symbolic"):
        return None
    uf = _REDUCE.get(n.target.__name__)
    if uf is None or n.kwargs.get("dtype") is not None:
        return None
    axes = n.kwargs.get("axes", n.kwargs.get("axis"))
    return uf, axes, bool(n.kwargs.get("keepdims", n.kwargs.get("keepdim", False)))


def _array_inputs(n: Node) -> list:
    return [a for a in n.args if isinstance(a, Value)]


def fuse(g: Graph, min_ops: int = 2) -> Graph:
    """Group elementwise chains into ``kernel`` nodes (at the position of the chain's last node)."""
    users = g.users()
    group_of: dict = {}  # value id -> group (list of nodes) whose last output it is
    groups: list = []
    for n in g.nodes:
        if n.op in ("effect", "guard") or n.meta.get("effect") or n.meta.get("write") is not None:
            group_of.clear()  # nothing moves across a side effect or a check
            continue
        name = elementwise(n)
        if name is not None and n.out.shape == ():  # NumPy returns scalars there: nothing to write out= into
            name = None
        red = None if name is not None else _reduction(n)
        if name is None and red is None:
            continue
        joined = None
        for a in _array_inputs(n):
            grp = group_of.get(a.id)
            if grp is not None and len(users.get(a.id, ())) == 1 and a.node is grp[-1] and \
                    (red is not None or tuple(a.shape) == tuple(n.out.shape)) and \
                    n.out.dtype == a.dtype:
                joined = grp
                break
        if joined is None:
            if red is not None:
                continue
            grp = [n]
            groups.append(grp)
        else:
            for a in _array_inputs(n):
                group_of.pop(a.id, None)
            grp = joined
            grp.append(n)
        if red is None:
            group_of[n.out.id] = grp
    fused = {}
    for grp in groups:
        if len(grp) >= min_ops:
            fused[grp[-1].id] = grp
    if not fused:
        return g
    members = {m.id for grp in fused.values() for m in grp}
    out = []
    for n in g.nodes:
        if n.id in members and n.id not in fused:
            continue
        if n.id in fused:
            out.append(_kernel(g, fused[n.id]))
        else:
            out.append(n)
    g.nodes = out
    return g


def _kernel(g: Graph, grp: list) -> Node:
    inner = {v.id for m in grp for v in m.outputs}
    ext: list = []
    seen = set()
    for m in grp:
        for a in _array_inputs(m):
            if a.id not in inner and a.id not in seen:
                seen.add(a.id)
                ext.append(a)
    last = grp[-1]
    k = Node(last.id, "kernel", None, tuple(ext), {}, {"nodes": grp, "where": last.meta.get("where")})
    k.outputs = [last.out]
    last.out.node = k
    if "phase" in last.meta:
        k.meta["phase"] = last.meta["phase"]
    return k


# -- code ----------------------------------------------------------------------------------------------------

def _steps(k: Node):
    """(vocabulary name or reduction, member node) per step."""
    out = []
    for m in k.meta["nodes"]:
        name = elementwise(m)
        out.append((name if name is not None else "reduce", m))
    return out


def _operands(em, m: Node) -> list:
    return [em.lit(a) for a in m.args]


def emit_kernel(em, k: Node, lines: list, ind: str) -> None:
    """NumPy code: the chain written into one array (a planned buffer when there is one)."""
    if _numba_ok(em, k):
        emit_numba(em, k, lines, ind)
        return
    final = k.out
    buf = k.meta.get("buffer")
    cur = None  # the variable the chain currently writes into
    cur_v = None  # the value it holds
    for name, m in _steps(k):
        v = m.out
        ops = [cur if isinstance(a, Value) and a.id in _inner_ids(k) else em.lit(a) for a in m.args]
        if name == "reduce":
            uf, axes, keep = _reduction(m)
            fn = em.obj(uf, uf.__name__)
            if buf is not None and m is k.meta["nodes"][-1]:
                lines.append(f"{ind}v{v.id} = {fn}.reduce({ops[0]}, axis={em.lit(axes)}, keepdims={keep!r}, "
                             f"out={buf})")
            else:
                lines.append(f"{ind}v{v.id} = np.asarray({fn}.reduce({ops[0]}, axis={em.lit(axes)}, "
                             f"keepdims={keep!r}))")
            cur, cur_v = f"v{v.id}", v
            continue
        uf, arity, _ = _UFUNCS[name]
        fn = em.obj(uf, uf.__name__)
        if name == "relu":
            ops = ops + ["0"]
        elif name == "square":
            ops = ops + ops
        if cur is not None and tuple(v.shape) == tuple(cur_v.shape) and v.dtype == cur_v.dtype:
            lines.append(f"{ind}{fn}({', '.join(ops)}, out={cur})")
        elif cur is None and k.meta.get("scratch"):
            cur = k.meta["scratch"]
            lines.append(f"{ind}{fn}({', '.join(ops)}, out={cur})")
        elif buf is not None and tuple(v.shape) == tuple(final.shape) and v.dtype == final.dtype:
            lines.append(f"{ind}{fn}({', '.join(ops)}, out={buf})")
            cur = buf
        else:
            lines.append(f"{ind}v{v.id} = {fn}({', '.join(ops)})")
            cur = f"v{v.id}"
        cur_v = v
    if cur != f"v{final.id}":
        lines.append(f"{ind}v{final.id} = {cur}")


def _inner_ids(k: Node) -> set:
    ids = k.meta.get("_inner")
    if ids is None:
        ids = k.meta["_inner"] = {v.id for m in k.meta["nodes"] for v in m.outputs}
    return ids


def run_kernel(k: Node, env: dict) -> list:
    """Interpret a kernel (the passes' tests use this)."""
    from .interp import run_node
    local = dict(env)
    for m in k.meta["nodes"]:
        for v, r in zip(m.outputs, run_node(m, local)):
            local[v.id] = r
    return [local[k.out.id]]


# -- numba ---------------------------------------------------------------------------------------------------

NUMBA_MIN_SIZE = 1 << 15


def numba_available() -> bool:
    """Whether numba is installed (without importing it: that takes a while, and is done only when a
    kernel is actually compiled)."""
    import importlib.util
    return importlib.util.find_spec("numba") is not None


def _numba_ok(em, k: Node) -> bool:
    if not em.ns.get("_use_numba") or k.meta.get("numba_failed"):
        return False
    final = k.out
    if final.shape is None or any(m is None for m in final.shape) or math.prod(final.shape) < NUMBA_MIN_SIZE:
        return False
    if final.dtype.kind != "f":
        return False
    if any(name == "reduce" for name, _ in _steps(k)):
        return False
    for a in k.args:
        if not (tuple(a.shape) == tuple(final.shape) or a.shape == ()) or a.dtype != final.dtype:
            return False
    return True


def _numba_source(k: Node) -> tuple[str, str]:
    """A numba kernel over flat arrays: ``kern(out, a0, a1, ...)``."""
    names = {a.id: f"a{i}" for i, a in enumerate(k.args)}
    scalars = {a.id for a in k.args if a.shape == ()}
    expr: dict = {}
    for name, m in _steps(k):
        ops = []
        for a in m.args:
            if isinstance(a, Value):
                if a.id in expr:
                    ops.append(expr[a.id])
                elif a.id in scalars:
                    ops.append(f"{names[a.id]}[()]")
                else:
                    ops.append(f"{names[a.id]}[i]")
            else:
                ops.append(repr(float(a)) if isinstance(a, (int, float)) else repr(a))
        if name == "relu":
            ops.append("0.0")
        expr[m.out.id] = _UFUNCS[name][2].format(*ops)
    body = expr[k.out.id]
    args = ", ".join(f"a{i}" for i in range(len(k.args)))
    src = ("import math\nimport numba\n\n\n@numba.njit(cache=True, fastmath=False)\n"
           f"def kern(out, {args}):\n    for i in range(out.shape[0]):\n        out[i] = {body}\n")
    return src, hashlib.sha1(src.encode()).hexdigest()[:16]


_NUMBA_CACHE: dict = {}


def numba_kernel(k: Node):
    """The compiled numba kernel of ``k``, through the verified disk cache (``kernel_cache.py``)."""
    src, key = _numba_source(k)
    sig = _signature(k)
    fn = _NUMBA_CACHE.get((key, sig))
    if fn is not None:
        return fn
    from .kernel_cache import load_kernel
    fn = _NUMBA_CACHE[(key, sig)] = load_kernel(src, key, "kern", sig)
    return fn


def _signature(k: Node) -> tuple:
    """numba's argument types of ``kern(out, a0, a1, ...)``: 1-d C arrays, and 0-d arrays for scalars."""
    import numba
    final = k.out
    types = [numba.typeof(np.empty(2, np.dtype(final.dtype)))]
    for a in k.args:
        full = tuple(a.shape) == tuple(final.shape)
        types.append(numba.typeof(np.empty(2 if full else (), np.dtype(a.dtype))))
    return tuple(types)


def emit_numba(em, k: Node, lines: list, ind: str) -> None:
    fn = em.obj(numba_kernel(k), "NK")
    em.ns.setdefault("_numba_kernels", []).append(em.ns[fn])
    final = k.out
    buf = k.meta.get("buffer")
    dt = em.obj(np.dtype(final.dtype))
    args = [em.lit(a) for a in k.args]
    shape_src = next((f"{x}.shape" for a, x in zip(k.args, args) if tuple(a.shape) == tuple(final.shape)), None)
    if buf is not None:
        lines.append(f"{ind}v{final.id} = {buf}")
    else:
        lines.append(f"{ind}v{final.id} = _empty({shape_src}, {dt})")
    flat = [f"{x}.reshape(-1)" if tuple(a.shape) == tuple(final.shape) else f"np.asarray({x})"
            for a, x in zip(k.args, args)]  # (a 0-d value may be a NumPy scalar at run time)
    lines.append(f"{ind}{fn}(v{final.id}.reshape(-1), {', '.join(flat)})")
