"""Code generation: Python source for a graph, compiled with ``exec``.

Every node becomes one or two lines of NumPy (or a call of the op's own forward/backward, which is what
eager mode runs). Fused elementwise kernels (``kernel`` nodes from the fusion pass) become NumPy
expressions writing into preallocated buffers with ``out=``, or numba kernels when numba is installed.
The source is kept (``.code``) so a program can be read.

A program is two functions: ``forward(flat)`` (``flat`` is the list of the call's arguments, flattened),
and, when the outputs require grad, ``backward(saved, grads)``, the backward of the ``CompiledNode`` the
outputs hang from.
"""
from __future__ import annotations

import math

import numpy as np

from . import runtime
from .ir import Graph, Node, Value
from .symbolic import Sym
from .tracer import OutList, TensorArg

_SIMPLE = (int, float, bool, str, type(None))


class Emitter:
    def __init__(self) -> None:
        self.ns: dict = {"np": np, "_rt": runtime, "_wrap": runtime.wrap, "_from_node": runtime.from_node,
                         "_new": runtime.new, "_GuardMiss": runtime.GuardMiss, "_empty": np.empty,
                         "_empty_like": np.empty_like}
        self.names: dict = {}
        self.count = 0
        self.syms: dict = {}  # (flat index, dim) -> variable name

    def obj(self, o, hint: str = "K") -> str:
        key = (hint, id(o))
        name = self.names.get(key)
        if name is None:
            name = f"{hint}{self.count}"
            self.count += 1
            self.names[key] = name
            self.ns[name] = o
        return name

    def lit(self, x) -> str:
        """Source for a Python literal or structure (Values become variable names)."""
        if isinstance(x, Value):
            return f"v{x.id}"
        if isinstance(x, TensorArg):
            return f"_wrap(v{x.value.id})"
        if isinstance(x, Sym):
            for s in x.syms:
                self.syms.setdefault(s, f"S{s[0]}_{s[1]}")
            return x.source(self.syms)
        if isinstance(x, bool) or x is None:
            return repr(x)
        if isinstance(x, int) and type(x) is int:
            return repr(x)
        if isinstance(x, float) and type(x) is float:
            if math.isfinite(x):
                return repr(x)
            return self.obj(x)
        if isinstance(x, str):
            return repr(x)
        if type(x) is tuple:
            inner = ", ".join(self.lit(y) for y in x)
            return f"({inner},)" if len(x) == 1 else f"({inner})"
        if type(x) is list:
            return "[" + ", ".join(self.lit(y) for y in x) + "]"
        if type(x) is dict and all(isinstance(k, str) for k in x):
            return "{" + ", ".join(f"{k!r}: {self.lit(v)}" for k, v in x.items()) + "}"
        if type(x) is slice:
            return f"slice({self.lit(x.start)}, {self.lit(x.stop)}, {self.lit(x.step)})"
        if x is Ellipsis:
            return "..."
        return self.obj(x)

    def call_args(self, args, kwargs) -> str:
        parts = [self.lit(a) for a in args]
        for k, v in kwargs.items():
            if isinstance(v, OutList):
                parts.append(f"{k}=_l_{k}")
            else:
                parts.append(f"{k}={self.lit(v)}")
        return ", ".join(parts)


def _outs(node: Node) -> str:
    return ", ".join(f"v{v.id}" for v in node.outputs)


def emit_node(em: Emitter, n: Node, lines: list, ind: str = "    ") -> None:
    op = n.op
    if op == "input":
        if isinstance(n.target, tuple):  # a gradient placeholder of a backward program
            lines.append(f"{ind}v{n.out.id} = grads[{n.target[1]}]")
        else:
            lines.append(f"{ind}v{n.out.id} = flat[{n.target}]._data")
    elif op == "ext":
        t = em.obj(n.target, "T")
        if n.meta["path"] == ("grad",):
            lines.append(f"{ind}v{n.out.id} = {t}.grad._data")
        else:
            lines.append(f"{ind}v{n.out.id} = {t}._data")
    elif op == "const":
        lines.append(f"{ind}v{n.out.id} = {em.obj(n.target)}")
    elif op == "op":
        cls = n.target
        fwd = em.obj(cls.forward, cls.__name__ + "_fwd")
        outlists = n.meta.get("outlists") or {}
        for k in outlists:
            lines.append(f"{ind}_l_{k} = []")
        ctx = "None"
        if n.meta.get("ctx"):
            ctx = f"c{n.id}"
            lines.append(f"{ind}{ctx} = _new({em.obj(cls, cls.__name__)})")
            lines.append(f"{ind}{ctx}.edges = {em.obj(n.meta['edges'])}")
        call = f"{fwd}({ctx}, {em.call_args(n.args, n.kwargs)})"
        nmain = len(n.outputs) - sum(len(v) for v in outlists.values())
        main = n.outputs[:nmain]
        if nmain == 1 and not n.meta.get("tuple_out"):
            lines.append(f"{ind}v{main[0].id} = {call}")
        else:
            lhs = ", ".join(f"v{v.id}" for v in main)
            lines.append(f"{ind}{lhs}{',' if nmain == 1 else ''} = {call}")
        for k, vals in outlists.items():
            lhs = ", ".join(f"v{v.id}" for v in vals)
            lines.append(f"{ind}{lhs}{',' if len(vals) == 1 else ''} = _l_{k}")
        if ctx != "None" and _reads_meta(cls):
            lines.append(f"{ind}{ctx}.meta = [" + ", ".join(f"(v{v.id}.shape, v{v.id}.dtype)" for v in main) + "]")
    elif op == "np":
        _emit_np(em, n, lines, ind)
    elif op == "backward":
        cls = n.target
        bwd = em.obj(cls.backward, cls.__name__ + "_bwd")
        args = ", ".join(em.lit(a) for a in n.args)
        idx = n.meta["index"]
        call = f"{bwd}(c{n.meta['of'].id}, {args})"
        if not n.outputs:
            return
        if n.meta["nedges"] == 1:
            lines.append(f"{ind}v{n.out.id} = {call}[0]")
        else:
            lines.append(f"{ind}_r = {call}")
            for i, v in zip(idx, n.outputs):
                lines.append(f"{ind}v{v.id} = _r[{i}]")
    elif op == "guard":
        if not n.meta.get("free"):
            _emit_guard(em, n, lines, ind)
    elif op == "effect":
        _emit_effect(em, n, lines, ind)
    elif op == "kernel":
        from .fusion import emit_kernel
        emit_kernel(em, n, lines, ind)
    elif op == "alloc":
        v = n.out
        lines.append(f"{ind}v{v.id} = _empty({em.lit(n.args[0])}, {em.obj(np.dtype(v.dtype))})")
    else:
        raise NotImplementedError(op)


_META_READERS: dict = {}


def _reads_meta(cls) -> bool:
    """Whether an op's backward reads ``self.meta`` (its outputs' shapes): only then is it set."""
    r = _META_READERS.get(cls)
    if r is None:
        r = False
        for c in cls.__mro__:
            if c.__name__ in ("Op", "Node", "object"):
                continue
            for f in vars(c).values():
                code = getattr(f, "__code__", None)
                if code is not None and ("meta" in code.co_names or "run_backward" in code.co_names or
                                         f is vars(c).get("run_backward")):
                    r = True
        _META_READERS[cls] = r
    return r


def _leaf_target(em: Emitter, leaf) -> str:
    kind, obj = leaf
    if kind == "input":
        return f"flat[{obj}]"
    return em.obj(obj, "T")


def _emit_effect(em: Emitter, n: Node, lines: list, ind: str) -> None:
    t = n.target
    if t == "set_grad_none":
        lines.append(f"{ind}{em.obj(n.meta['leaf'], 'T')}.grad = None")
    elif t == "set_grad":
        lines.append(f"{ind}{em.obj(n.meta['leaf'], 'T')}.grad = _wrap(v{n.args[0].id})")
    elif t == "acc_grad":
        leaf = _leaf_target(em, n.meta["leaf"])
        fresh = bool(n.meta.get("fresh"))
        if n.meta.get("assign"):  # the program itself set .grad to None before: plain assignment
            src = f"v{n.args[0].id}" if fresh else f"v{n.args[0].id}.copy()"
            lines.append(f"{ind}v{n.out.id} = {src}")
            lines.append(f"{ind}{leaf}.grad = _wrap(v{n.out.id})")
        else:
            lines.append(f"{ind}v{n.out.id} = _rt.acc_grad({leaf}, v{n.args[0].id}, {fresh})")
    elif t == "bump":  # an in-place change of an outside tensor: its version counter moves, as eagerly
        lines.append(f"{ind}{_leaf_target(em, n.meta['leaf'])}._vc[0] += 1")
    elif t == "draw":  # a random draw, repeated in the same order as traced (on the generator's state now)
        callee = em.obj(n.meta["call"][1], "RK")  # the @random._kernel wrapper, called as eagerly
        lines.append(f"{ind}v{n.out.id} = {callee}({em.call_args(n.args, n.kwargs)})")
    elif t == "optimizer_step":
        from .optimizers import fused_step_for
        opt = em.obj(n.meta["opt"], "OPT")
        step = em.obj(n.meta["step"], "STEP")
        fused = fused_step_for(n.meta["opt"]) if em.ns.get("_fused_optim", True) else None
        if fused is not None:
            import sys
            nb = em.ns.get("_numba_forced") or ("numba" in sys.modules and em.ns.get("_use_numba"))
            lines.append(f"{ind}{em.obj(fused, fused.__name__)}({opt}, {step}, {bool(nb)!r})")
        else:
            lines.append(f"{ind}{step}({opt})")
        params = n.meta.get("params_out")
        for v, p in zip(n.outputs, params):
            lines.append(f"{ind}v{v.id} = {em.obj(p, 'T')}._data")
    else:
        raise NotImplementedError(t)


def _emit_guard(em: Emitter, n: Node, lines: list, ind: str) -> None:
    v = f"v{n.args[0].id}"
    kind = n.meta["kind"]
    exp = n.meta["expected"]
    idx = n.meta.get("index", n.id)
    if kind == "bool":
        cond = f"bool({v}) is not {bool(exp)!r}"
    elif kind in ("float", "item") and isinstance(exp, float) and exp != exp:
        cond = f"{v}.item() == {v}.item()"
    elif kind in ("int", "index"):
        cond = f"int({v}) != {exp!r}"
    elif kind == "float":
        cond = f"float({v}) != {em.lit(exp)}"
    elif kind == "item":
        cond = f"{v}.item() != {em.lit(exp)}"
    elif kind == "tolist":
        cond = f"{v}.tolist() != {em.obj(exp)}"
    elif kind == "numpy":
        cond = f"not _rt.same_array({v}, {em.obj(exp)})"
    elif kind == "tobytes":
        cond = f"{v}.tobytes() != {em.obj(exp)}"
    else:
        cond = f"complex({v}) != {em.obj(exp)}"
    lines.append(f"{ind}if {cond}:")
    lines.append(f"{ind}    raise _GuardMiss({idx})")


class _WithArgs:
    """A node seen with other positional arguments (the receiver of a method call taken out)."""

    def __init__(self, n: Node, args: tuple) -> None:
        self._n = n
        self.args = args

    def __getattr__(self, name):
        return getattr(self._n, name)


def _emit_np(em: Emitter, n: Node, lines: list, ind: str) -> None:
    kind, fn, name = n.target
    outs = _outs(n)
    write = n.meta.get("write")  # in place into outside memory (a parameter, a buffer, a .grad)
    inplace = n.meta.get("inplace")
    if kind == "setitem":
        a, idx, val = n.args
        helper = "_rt.setitem_inplace" if write is not None else "_rt.setitem_copy"
        lines.append(f"{ind}{outs} = {helper}({em.lit(a)}, {em.lit(idx)}, {em.lit(val)})")
    elif kind == "ufunc":
        method = n.target[1]
        uf = em.obj(fn, fn.__name__ if hasattr(fn, "__name__") else "UF")
        m = n.meta.get("method", "__call__")
        callee = uf if m == "__call__" else f"{uf}.{m}"
        args = em.call_args(n.args, n.kwargs)
        if write is not None:
            lines.append(f"{ind}{callee}({args}, out=v{write.id})")
            lines.append(f"{ind}{outs} = v{write.id}")
        elif inplace is not None:
            lines.append(f"{ind}{outs} = {callee}({args}, out=_empty_like(v{inplace.id}))")
        else:
            lines.append(f"{ind}{outs}{',' if len(n.outputs) > 1 else ''} = {callee}({args})")
        _ = method
    elif kind == "buf":  # an elementwise ufunc into a planned buffer
        uf = em.obj(fn, fn.__name__)
        args = em.call_args(n.args, n.kwargs)
        lines.append(f"{ind}{outs} = {uf}({args}, out=v{n.meta['buffer'].id})")
    else:
        callee = em.obj(fn, name.strip("_") or "F")
        if kind == "method" and n.args and name.isidentifier() and not name.startswith("__"):
            # x.astype(...), not ndarray.astype(x, ...): at run time x may be a NumPy scalar (a ufunc on 0-d
            # arrays returns one), which has the same methods
            callee = f"{em.lit(n.args[0])}.{name}"
            n = _WithArgs(n, n.args[1:])
        args = em.call_args(n.args, n.kwargs)
        if n.outputs and n.outputs[0].shape is None:
            lines.append(f"{ind}{callee}({args})")
        elif len(n.outputs) > 1:
            lines.append(f"{ind}{outs}, = {callee}({args})" if len(n.outputs) == 1 else
                         f"{ind}{outs} = {callee}({args})")
        else:
            lines.append(f"{ind}{outs} = np.asarray({callee}({args}))" if n.meta.get("asarray") else
                         f"{ind}{outs} = {callee}({args})")
        if write is not None:
            lines.append(f"{ind}np.copyto(v{write.id}, {outs})")


# -- outputs -------------------------------------------------------------------------------------------------

def out_expr(em: Emitter, spec, outs) -> str:
    tag = spec[0]
    if tag == "leaf":
        kind, payload = spec[1], spec[2]
        if kind == "tensor":
            v = outs[payload]
            if isinstance(v, Value) and v.node.op == "const":  # a new tensor at every call, as eagerly
                return f"_wrap({em.lit(v)}.copy())"
            return f"_wrap({em.lit(v)})"
        if kind == "grad_tensor":
            i, k = payload
            return f"_from_node({em.lit(outs[i])}, _cn, {k})"
        if kind == "dead_tensor":
            em.ns["_DEAD"] = runtime.dead_node()
            return f"_from_node({em.lit(outs[payload])}, _DEAD, 0)"
        if kind == "input":
            return f"flat[{payload}]"
        if kind == "read":
            v = em.lit(outs[payload[0]])
            if payload[1] == "numpy":
                return v
            return f"{v}.item()" if payload[1] == "item" else f"float({v})"
        return em.lit(payload)
    items = [out_expr(em, s, outs) for s in spec[2]]
    if tag == "tuple":
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if tag == "list":
        return "[" + ", ".join(items) + "]"
    if tag == "dict":
        keys = spec[1]
        return "{" + ", ".join(f"{em.lit(k)}: {it}" for k, it in zip(keys, items)) + "}"
    if tag == "namedtuple":
        return f"{em.obj(spec[1], 'NT')}(" + ", ".join(items) + ")"
    raise NotImplementedError(tag)


def generate(graph: Graph, out_spec, grad_outputs: list, boundaries: list, name: str = "compiled", bufs=None,
             use_numba: bool = False):
    """Source and namespace of the program; returns (source, namespace).

    ``grad_outputs``: indices (into the output node's values) of outputs that require grad (a CompiledNode
    is built); ``boundaries``: one key per CompiledNode edge (("input", i) or ("tensor", t)), whose gradient
    is the matching value of the ``bwd_output`` node."""
    out_node = graph.output_node()
    outs = list(out_node.args) if out_node is not None else []
    bwd_out = next((n for n in graph.nodes if n.op == "bwd_output"), None)
    bvals = list(bwd_out.args) if bwd_out is not None else []
    grad_outputs = [outs[i] for i in grad_outputs]
    em = Emitter()
    em.ns["_use_numba"] = bool(use_numba)
    em.ns["_numba_forced"] = use_numba == "force"
    fwd_lines: list = []
    if bufs:
        from .memory import buffer_lines
        fwd_lines += buffer_lines(bufs, em)
    bwd_nodes: list = []
    for n in graph.nodes:
        if n.meta.get("phase") == "bwd":
            bwd_nodes.append(n)
            continue
        if n.op in ("output", "bwd_output"):
            continue
        emit_node(em, n, fwd_lines)
        if n.op == "backward" and n.meta["of"].meta.get("ctx"):
            fwd_lines.append(f"    del c{n.meta['of'].id}")  # its node (and what it cached) can go now
    from .. import _threads
    em.ns["_adapt_threads"] = _threads.adapt
    # as the engine does once per backward: size the BLAS pool to the cores other processes leave free
    # (OpenBLAS threads spinning on busy cores make products many times slower)
    src = ["def forward(flat):", "    _adapt_threads()"]
    src += fwd_lines
    if grad_outputs:
        # values the backward program reads, defined in the forward
        defined_fwd = set()
        ctx_fwd = set()
        for n in graph.nodes:
            if n.meta.get("phase") == "bwd" or n.op == "output":
                continue
            for v in n.outputs:
                defined_fwd.add(v.id)
            if n.op == "op" and n.meta.get("ctx"):
                ctx_fwd.add(n.id)
        env_vals, env_ctx = [], []
        seen = set()
        for n in bwd_nodes:
            for v in n.inputs():
                if v.id in defined_fwd and v.id not in seen:
                    seen.add(v.id)
                    env_vals.append(v.id)
            if n.op == "backward":
                cid = n.meta["of"].id
                if cid in ctx_fwd and ("c", cid) not in seen:
                    seen.add(("c", cid))
                    env_ctx.append(cid)
        env = [f"v{i}" for i in env_vals] + [f"c{i}" for i in env_ctx]
        bsrc = ["def backward(saved, grads):"]
        bbody: list = []
        for n in bwd_nodes:
            if n.op != "bwd_output":
                emit_node(em, n, bbody)
        env += sorted(em.syms.values())  # sizes the backward needs (all, to keep it simple)
        em.ns["_CN"] = runtime.CompiledNode
        src.append("    _cn = _new(_CN)")
        src.append("    _cn.saved = [" + ", ".join(env) + "]")
        src.append("    _cn.bwd = _BWD")
        src.append("    _cn.edges = [" + ", ".join(f"_rt.edge({_leaf_target(em, b)})" for b in boundaries) + "]")
        src.append("    _cn.meta = [" + ", ".join(f"({em.lit(v)}.shape, {em.lit(v)}.dtype)" for v in grad_outputs)
                   + "]")
        read = _outside_reads(graph, env_vals)
        src.append("    _cn.vcs = _rt.versions(" + "".join(f"{_leaf_target(em, r)}, " for r in read) + ")")
        if env:
            bsrc.append("    " + ", ".join(env) + ", = saved")
        bsrc += bbody
        bsrc.append("    return [" + ", ".join(em.lit(v) for v in bvals) + "]")
    else:
        bsrc = []
    src.append("    return " + out_expr(em, out_spec, outs))
    if em.syms:
        defs = [f"    {name} = flat[{i}]._data.shape[{j}]" for (i, j), name in sorted(em.syms.items())]
        src = src[:1] + defs + src[1:]
    source = "\n".join(src) + "\n"
    if bsrc:
        source = "\n".join(bsrc) + "\n\n" + source
    return source, em.ns


def _outside_reads(graph: Graph, env_vals: list) -> list:
    """The arguments and outside tensors whose memory the backward program reads: those of the saved
    values, followed through ops that may return views (anything not known to make a new array). Their
    version counters are checked when the backward runs, as eager autograd checks saved tensors."""
    from .memory import _fresh
    byid = {v.id: v for n in graph.nodes for v in n.outputs}
    out, seen, stack = [], set(), [byid[i] for i in env_vals if i in byid]
    keys = set()
    while stack:
        v = stack.pop()
        if v.id in seen:
            continue
        seen.add(v.id)
        n = v.node
        if n.op == "input" and not isinstance(n.target, tuple):
            key = ("input", n.target)
        elif n.op == "ext" and n.meta.get("path") == ("data",):
            key = ("tensor", n.target)
        else:
            if n.op in ("op", "np") and not _fresh(n):
                stack.extend(n.inputs())
            continue
        k = (key[0], key[1] if key[0] == "input" else id(key[1]))
        if k not in keys:
            keys.add(k)
            out.append(key)
    return out


def build(source: str, ns: dict, filename: str):
    code = compile(source, filename, "exec")
    exec(code, ns)  # noqa: S102 - our own generated source
    if "backward" in ns:
        ns["_BWD"] = ns["backward"]
    return ns["forward"]


__all__ = ["generate", "build", "Emitter", "emit_node"]
