"""A compiled program: passes, code generation and the callable, for one trace."""
from __future__ import annotations

import itertools
import time

from . import codegen, fusion, memory, passes
from .runtime import GuardMiss

_count = itertools.count()


class Program:
    """One generated program: ``run(flat)``, its IR (``graph``) and source (``code``)."""

    def __init__(self, graph, code: str, fn, breaks: list) -> None:
        self.graph = graph
        self.code = code
        self.fn = fn
        self.breaks = breaks
        self.trace_time = 0.0
        self.compile_time = 0.0

    def run(self, flat):
        return self.fn(flat)

    def miss_reason(self, miss: GuardMiss) -> str:
        from .tracer import format_site
        n = self.breaks[miss.index]
        return (f"the value of {n.meta['kind']}() read at {format_site(n.meta.get('where'))} differs from "
                f"{n.meta['expected']!r} (a new path)")

    def __repr__(self) -> str:
        return f"<Program: {self.graph.op_count()} ops>"


def build_program(trace, cf, dynamic: dict, flat) -> Program:
    t0 = time.perf_counter()
    g = trace.graph
    tr = trace.tracer
    opts = cf.options if cf is not None else {}
    level = opts.get("level", 2)
    passes.default_pipeline(g, tr.grad_state, level=level)
    bufs = {}
    if level >= 2:
        fusion.fuse(g)
        if not dynamic:
            bufs = memory.plan(g)
    breaks = [n for n in g.nodes if n.op == "guard" and not n.meta.get("free")]
    for i, n in enumerate(breaks):
        n.meta["index"] = i
    ngrad = [k for (_, k) in _grad_indices(trace.out_spec)]
    backend = getattr(cf, "backend", "numpy") if cf is not None else "numpy"
    use_numba = "force" if backend == "numba" else (backend in (None, "default", "inductor") and
                                                     opts.get("numba", True) and fusion.numba_available())
    source, ns = codegen.generate(g, trace.out_spec, ngrad, [b for b, _ in trace.boundaries], bufs=bufs,
                                  use_numba=use_numba)
    fn = codegen.build(source, ns, f"<dynagrad.compile #{next(_count)}>")
    p = Program(g, source, fn, breaks)
    p.compile_time = time.perf_counter() - t0
    return p


def _grad_indices(spec):
    out = []
    if spec is None:
        return out
    if spec[0] == "leaf":
        if spec[1] == "grad_tensor":
            out.append((spec[2][1], spec[2][0]))
        return out
    for s in spec[2]:
        out.extend(_grad_indices(s))
    out.sort()
    return out
