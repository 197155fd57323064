"""Profiler: per-op calls, self and total time, and bytes allocated, in forward and in backward.

>>> import dynagrad
>>> from dynagrad.profiler import profile, record_function
>>> x = dynagrad.randn(8, 8, requires_grad=True)
>>> with profile() as prof:
...     with record_function("step"):
...         (x @ x).relu().sum().backward()
>>> "MmBackward0" in prof.key_averages().table()
True

While a profile is active, every op runs through a timing hook (the ``state.transform_hook`` that op dispatch
already checks) and the backward engine times each node; outside one, nothing is instrumented.
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field

from .autograd import state
from .backend import xp

_now = time.perf_counter_ns


@dataclass
class Event:
    name: str
    phase: str  # "forward", "backward", "user", "module"
    start_ns: int
    dur_ns: int = 0
    child_ns: int = 0
    bytes: int = 0
    shapes: tuple = ()
    depth: int = 0

    @property
    def self_ns(self) -> int:
        return self.dur_ns - self.child_ns


@dataclass
class FunctionEventAvg:
    """Aggregated statistics of one op name (one row of ``key_averages().table()``)."""

    key: str
    count: int = 0
    self_cpu_time_total: float = 0.0  # microseconds, as PyTorch reports
    cpu_time_total: float = 0.0
    cpu_memory_usage: int = 0
    input_shapes: tuple = ()
    phases: set = field(default_factory=set)

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / max(self.count, 1)

    @property
    def self_cpu_time(self) -> float:
        return self.self_cpu_time_total / max(self.count, 1)


class EventList(list):
    """A list of aggregated rows with PyTorch's ``table`` printout."""

    def table(self, sort_by: str = "self_cpu_time_total", row_limit: int = 100, header: str | None = None,
              **kwargs) -> str:
        key = {"cpu_time_total": "cpu_time_total", "self_cpu_time_total": "self_cpu_time_total",
               "cpu_time": "cpu_time", "self_cpu_time": "self_cpu_time", "count": "count",
               "cpu_memory_usage": "cpu_memory_usage", "self_cpu_memory_usage": "cpu_memory_usage"}.get(
            sort_by, "self_cpu_time_total")
        rows = sorted(self, key=lambda r: getattr(r, key), reverse=True)[:row_limit]
        total_self = sum(r.self_cpu_time_total for r in self) or 1.0
        cols = ["Name", "Phase", "Self CPU %", "Self CPU", "CPU total", "CPU time avg", "CPU Mem", "# of Calls"]
        widths = [max(24, max((len(r.key) for r in rows), default=4) + 2), 18, 11, 11, 11, 13, 11, 11]
        sep = "-" * (sum(widths) + 2 * len(widths))
        lines = []
        if header:
            lines.append(header)
        lines += [sep, "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cols, widths))),
                  sep]
        for r in rows:
            vals = [r.key, "/".join(sorted(r.phases)), f"{100 * r.self_cpu_time_total / total_self:.2f}%",
                    _fmt_us(r.self_cpu_time_total), _fmt_us(r.cpu_time_total), _fmt_us(r.cpu_time),
                    _fmt_bytes(r.cpu_memory_usage), str(r.count)]
            lines.append("  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(vals, widths))))
        lines.append(sep)
        lines.append(f"Self CPU time total: {_fmt_us(total_self)}")
        return "\n".join(lines)

    def total_average(self) -> FunctionEventAvg:
        tot = FunctionEventAvg("Total")
        for r in self:
            tot.count += r.count
            tot.self_cpu_time_total += r.self_cpu_time_total
            tot.cpu_memory_usage += r.cpu_memory_usage
        tot.cpu_time_total = tot.self_cpu_time_total
        return tot


def _fmt_us(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _fmt_bytes(n: int) -> str:
    for unit, k in (("Gb", 1 << 30), ("Mb", 1 << 20), ("Kb", 1 << 10)):
        if abs(n) >= k:
            return f"{n / k:.2f} {unit}"
    return f"{n} b"


def _nbytes(out) -> int:
    if isinstance(out, tuple):
        return sum(_nbytes(o) for o in out)
    arr = getattr(out, "_data", out)
    return arr.nbytes if isinstance(arr, xp.ndarray) else 0


_names: dict = {}


def _forward_name(cls) -> str:
    """'MmBackward0' -> 'mm', 'LogSoftmaxBackward0' -> 'log_softmax': forward events read like ops."""
    name = _names.get(cls)
    if name is None:
        base = re.sub(r"Backward\d*$", "", cls.__name__) or cls.__name__
        name = _names[cls] = re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower()
    return name


class profile:  # noqa: N801 - PyTorch's name
    """Record every op run inside the block (forward and backward), with times and bytes."""

    def __init__(self, activities=None, record_shapes: bool = False, profile_memory: bool = True,
                 with_stack: bool = False, with_flops: bool = False, schedule=None, on_trace_ready=None,
                 use_cuda: bool = False, enabled: bool = True, **kwargs) -> None:
        self.record_shapes = record_shapes
        self.enabled = enabled
        self.on_trace_ready = on_trace_ready
        self.events: list[Event] = []
        self._stack: list[Event] = []
        self._saved_apply = None
        self.start_ns = self.end_ns = 0

    # -- recording ----------------------------------------------------------------------------------------
    def _begin(self, name: str, phase: str, shapes=()) -> Event:
        ev = Event(name, phase, _now(), shapes=shapes, depth=len(self._stack))
        self._stack.append(ev)
        return ev

    def _end(self, ev: Event, out=None) -> None:
        ev.dur_ns = _now() - ev.start_ns
        self._stack.pop()
        if self._stack:
            self._stack[-1].child_ns += ev.dur_ns
        if out is not None:
            ev.bytes = _nbytes(out)
        self.events.append(ev)

    def time_backward(self, node, grads, create_graph):
        ev = self._begin(node.name(), "backward")
        try:
            out = node.run_backward(grads, create_graph)
        finally:
            self._end(ev)
        ev.bytes = sum(_nbytes(g) for g in out if g is not None) if out is not None else 0
        return out

    def __enter__(self) -> profile:
        if not self.enabled:
            return self
        if state.profiler is not None:
            raise RuntimeError("Profiler is already enabled on this thread")
        state.profiler = self
        # every op (generic, unary and binary fast paths) consults state.transform_hook when it is set
        self._prev_hook = state.transform_hook
        prev = self._prev_hook
        prof = self

        def hook(cls, inputs, kw):
            shapes = tuple(tuple(getattr(x, "shape", ())) for x in inputs) if prof.record_shapes else ()
            ev = prof._begin(_forward_name(cls), "forward", shapes)
            try:
                if prev is not None:
                    out = prev(cls, inputs, kw)
                else:
                    state.transform_hook = None
                    try:
                        out = cls.apply(*inputs, **kw)
                    finally:
                        state.transform_hook = hook
            finally:
                prof._end(ev)
            ev.bytes = _nbytes(out)
            return out
        state.transform_hook = hook
        self.start_ns = _now()
        return self

    def __exit__(self, *exc) -> None:
        if not self.enabled:
            return
        self.end_ns = _now()
        state.transform_hook = self._prev_hook
        state.profiler = None
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def step(self) -> None:
        """Mark a training step boundary (accepted for schedule-based loops)."""
        ev = Event("ProfilerStep", "user", _now())
        self.events.append(ev)

    # -- results ----------------------------------------------------------------------------------------
    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0) -> EventList:
        rows: dict = {}
        for ev in self.events:
            if ev.name == "ProfilerStep":
                continue
            key = (ev.name, ev.shapes) if group_by_input_shape else ev.name
            r = rows.get(key)
            if r is None:
                r = rows[key] = FunctionEventAvg(ev.name, input_shapes=ev.shapes if group_by_input_shape else ())
            r.count += 1
            r.self_cpu_time_total += ev.self_ns / 1e3
            r.cpu_time_total += ev.dur_ns / 1e3
            r.cpu_memory_usage += ev.bytes
            r.phases.add(ev.phase)
        return EventList(rows.values())

    def events_list(self) -> list[Event]:
        return list(self.events)

    @property
    def self_cpu_time_total(self) -> float:
        """Sum of self times of all recorded events, in microseconds."""
        return sum(ev.self_ns for ev in self.events) / 1e3

    @property
    def wall_time_us(self) -> float:
        return (self.end_ns - self.start_ns) / 1e3

    def export_chrome_trace(self, path: str) -> None:
        """Write a Chrome trace (open in chrome://tracing or Perfetto)."""
        pid = os.getpid()
        trace = [{"name": ev.name, "cat": ev.phase, "ph": "X", "ts": (ev.start_ns - self.start_ns) / 1e3,
                  "dur": ev.dur_ns / 1e3, "pid": pid, "tid": 0 if ev.phase != "backward" else 1,
                  "args": {"bytes": ev.bytes, **({"shapes": [list(s) for s in ev.shapes]} if ev.shapes else {})}}
                 for ev in self.events if ev.name != "ProfilerStep"]
        with open(path, "w") as f:
            json.dump({"traceEvents": trace, "displayTimeUnit": "ms"}, f)


class record_function:  # noqa: N801 - PyTorch's name
    """Label a region of code in the profile (a context manager and decorator)."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name
        self._ev = None

    def __enter__(self) -> record_function:
        prof = state.profiler
        if prof is not None:
            self._ev = prof._begin(self.name, "user")
        return self

    def __exit__(self, *exc) -> None:
        prof = state.profiler
        if prof is not None and self._ev is not None:
            prof._end(self._ev)
            self._ev = None

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*a, **k):
            with record_function(self.name):
                return fn(*a, **k)
        return wrapper


class ProfilerActivity:
    CPU = "cpu"
    CUDA = "cuda"


def schedule(*, wait: int = 0, warmup: int = 0, active: int = 1, repeat: int = 0, skip_first: int = 0):
    """Accepted for compatibility; dynagrad profiles the whole block."""
    return None

