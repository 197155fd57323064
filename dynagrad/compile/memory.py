"""Buffer planning: kernels write into preallocated arrays, reused across calls and between kernels.

Liveness: a value is live from its node to its last reader. A value read by an op may live on in that
op's outputs (a reshape or a slice is a view), so its lifetime extends to theirs; a value an op with a
context reads may be kept by the context until the op's backward runs. A kernel whose result never leaves
the program (not returned, not kept for a backward run later, not handed to ``.grad`` or to a Tensor
argument) gets a buffer from a pool: the first free buffer of its shape and dtype, or a new one. Buffers
are allocated on first use and kept by the program, so a steady state allocates nothing for them.
"""
from __future__ import annotations

from .ir import Graph, Value
from .tracer import TensorArg


def _escapes(g: Graph) -> set:
    """Values that outlive the program or are handed to code that may keep them."""
    esc: set = set()
    bwd_reads = set()
    for n in g.nodes:
        if n.op in ("output", "bwd_output"):
            esc.update(v.id for v in n.inputs())
        elif n.op == "effect":
            esc.update(v.id for v in n.inputs())
        elif n.meta.get("phase") == "bwd":
            bwd_reads.update(v.id for v in n.inputs())
        for k in n.kwargs.values():
            if isinstance(k, TensorArg):
                esc.add(k.value.id)
    defined_fwd = {v.id for n in g.nodes if n.meta.get("phase") != "bwd" for v in n.outputs}
    esc.update(bwd_reads & defined_fwd)  # kept for a CompiledNode's backward
    return esc


_FRESH_OPS = {"AddmmBackward0", "MmBackward0", "ConvolutionBackward0", "SoftmaxBackward0",
              "LogSoftmaxBackward0"}


def _fresh(n) -> bool:
    """Nodes whose results are new arrays, never views of their inputs."""
    from .fusion import elementwise
    if elementwise(n) is not None:
        return True
    if n.op == "np":
        return n.target[0] == "ufunc" and n.meta.get("method", "__call__") == "__call__" and \
            n.meta.get("write") is None
    return n.target.__name__ in _FRESH_OPS


def _is_reduce(m) -> bool:
    from .fusion import elementwise
    return elementwise(m) is None


def plan(g: Graph) -> dict:
    """Give kernel nodes buffers: sets ``meta['buffer']`` to a name; returns {name: (shape, dtype)}."""
    nodes = g.nodes
    pos = {id(n): i for i, n in enumerate(nodes)}
    end = len(nodes)
    last: dict = {}
    for i, n in enumerate(nodes):
        for v in n.inputs():
            last[v.id] = max(last.get(v.id, i), i)
    esc = _escapes(g)
    # a backward node reads its forward's saved inputs: they live until then; an op with a context whose
    # backward is not in this program may keep its inputs
    bwd_of = {}
    for n in nodes:
        if n.op == "backward":
            bwd_of[n.meta["of"].id] = pos[id(n)]
    # aliasing: outputs of ops (and non-elementwise NumPy calls) may be views of their inputs
    for i in range(end - 1, -1, -1):
        n = nodes[i]
        if n.op in ("op", "np") and not (_fresh(n) and not n.meta.get("ctx")):
            if any(v.id in esc for v in n.outputs):  # the output may be a view of an input: it escapes too
                esc.update(v.id for v in n.inputs())
            outs_last = max([last.get(v.id, i) for v in n.outputs] + [i])
            if n.meta.get("ctx"):
                outs_last = max(outs_last, bwd_of.get(n.id, end))
            for v in n.inputs():
                if outs_last > last.get(v.id, i):
                    last[v.id] = outs_last
                if n.meta.get("ctx") and n.id not in bwd_of:
                    esc.add(v.id)
    pool: list = []  # [name, shape, dtype, free_after]
    bufs: dict = {}
    for i, n in enumerate(nodes):
        if n.op != "kernel":
            continue
        v = n.out
        steps = n.meta["nodes"]
        if _is_reduce(steps[-1]) and len(steps) > 1:  # the chain before the reduction: scratch space
            s = steps[-2].out
            key = (tuple(s.shape), s.dtype)
            chosen = next((b for b in pool if (b[1], b[2]) == key and b[3] < i), None)
            if chosen is None:
                chosen = [f"B{len(pool)}", key[0], key[1], 0]
                pool.append(chosen)
                bufs[chosen[0]] = key
            chosen[3] = i
            n.meta["scratch"] = chosen[0]
        if v.id in esc or v.shape is None:
            continue
        key = (tuple(v.shape), v.dtype)
        chosen = None
        for b in pool:
            if (b[1], b[2]) == key and b[3] < i:
                chosen = b
                break
        if chosen is None:
            chosen = [f"B{len(pool)}", key[0], key[1], 0]
            pool.append(chosen)
            bufs[chosen[0]] = key
        chosen[3] = last.get(v.id, end)
        n.meta["buffer"] = chosen[0]
    return bufs


def buffer_lines(bufs: dict, em) -> list:
    """Program lines binding each buffer name (allocated once, on the first call)."""
    lines = []
    if not bufs:
        return lines
    store = em.obj({}, "BUFS")
    for name, (shape, dtype) in bufs.items():
        dt = em.obj(dtype)
        lines.append(f"    {name} = {store}.get({name!r})")
        lines.append(f"    if {name} is None:")
        lines.append(f"        {name} = {store}[{name!r}] = _empty({shape!r}, {dt})")
    return lines


__all__ = ["plan", "buffer_lines", "Value"]
