"""``dynagrad.compile.explain``: what compiling a function did, in words."""
from __future__ import annotations


class ExplainOutput:
    """Programs, graph breaks, retraces and fallbacks of one compiled function (``str()`` prints a report).

    Attributes follow ``torch._dynamo.explain``: ``graph_count``, ``graph_break_count``, ``break_reasons``,
    ``op_count``, ``graphs``, ``guards``, ``compile_times``; plus ``fallbacks`` and ``events``.
    """

    def __init__(self, cf) -> None:
        progs = cf.programs
        self.graphs = [p.graph for p in progs]
        self.graph_count = len(progs)
        breaks = [e for e in cf.events if e["kind"] == "graph_break"]
        self.break_reasons = [e["reason"] for e in breaks]
        self.graph_break_count = len(breaks)
        self.fallbacks = [e["reason"] for e in cf.events if e["kind"] in ("fallback", "cache_limit")]
        self.retraces = [e["reason"] for e in cf.events if e["kind"] == "retrace"]
        self.op_count = sum(g.op_count() for g in self.graphs)
        self.ops_per_graph = [g.op_count() for g in self.graphs]
        self.guards = [e.check.source for e in cf.entries if hasattr(e.check, "source")]
        self.compile_times = [(p.trace_time, p.compile_time) for p in progs]
        self.events = list(cf.events)
        self.codes = [p.code for p in progs]

    def __str__(self) -> str:
        lines = [f"Graph count: {self.graph_count}", f"Graph break count: {self.graph_break_count}",
                 f"Op count: {self.op_count}"]
        if self.break_reasons:
            lines.append("Break reasons:")
            lines += [f"  {i + 1}. {r}" for i, r in enumerate(self.break_reasons)]
        if self.retraces:
            lines.append("Retraces:")
            lines += [f"  - {r}" for r in self.retraces]
        if self.fallbacks:
            lines.append("Eager fallbacks:")
            lines += [f"  - {r}" for r in self.fallbacks]
        for i, (t, c) in enumerate(self.compile_times):
            lines.append(f"Program {i}: {self.ops_per_graph[i]} ops, traced in {t * 1e3:.1f} ms, "
                         f"compiled in {c * 1e3:.1f} ms")
        return "\n".join(lines)

    __repr__ = __str__
