"""dynagrad.compile: capture a dynamic program as a static graph, optimise it, run it as generated NumPy.

>>> import dynagrad
>>> @dynagrad.compile
... def f(x):
...     return (x * 2 + 1).relu().sum()
>>> f(dynagrad.ones(3))
tensor(9.)
>>> print(f.code.splitlines()[0])
def forward(flat):

The first call of each new situation runs the Python with tracing (``tracer.py``): every primitive op, the
NumPy calls made on traced arrays, ``loss.backward()`` (replayed as each op's own backward), ``.grad``
writes and optimizer steps are recorded into a graph (``ir.py``). The graph goes through the passes
(``passes.py``, ``fusion.py``, ``memory.py``) and becomes Python source (``codegen.py``). Later calls check
the guards (``guards.py``) and run the generated program. A failed guard retraces (logged, with the guard,
on the ``dynagrad.compile`` logger); a dimension that changes between calls becomes symbolic, so sequences
of lengths share one program; the cache holds ``cache_size_limit`` programs per function. A value the
program reads (``if x.sum() > 0``, ``t.item()``) splits the trace there: the program is specialised on the
value and checks it when it runs, and each path gets its own program. What cannot be captured (custom
autograd Functions in backward, hooks, random draws, in-place changes of views, ...) runs eagerly, with
the reason logged; ``explain(fn, *args)`` reports all of this.
"""
from __future__ import annotations

import functools
import logging
import sys
import time
import types

from ..autograd import state as _st
from . import guards as _guards
from . import symbolic as _symbolic
from . import tracer as _tracer
from .program import Program, build_program
from .tracer import Unsupported

log = logging.getLogger("dynagrad.compile")

cache_size_limit = 8  # programs per compiled function (as torch._dynamo.config.cache_size_limit)
harness_hook = None  # set by harness.install: compiled calls are top-level calls of the differential check
eager_everywhere = False  # the check's eager reference run: every compiled function runs its Python
_ALL: list = []


class _Entry:
    __slots__ = ("check", "program", "eager", "reason", "hits", "trace_time", "dynamic", "spec", "sig", "shapes")

    def __init__(self, check, program, eager=False, reason=None) -> None:
        self.check = check
        self.program = program
        self.eager = eager
        self.reason = reason
        self.hits = 0
        self.trace_time = 0.0
        self.dynamic = {}
        self.spec = None
        self.sig = None
        self.shapes = None


class CompiledFunction:
    """What ``dynagrad.compile(fn)`` returns: call it like ``fn``."""

    def __init__(self, fn, dynamic=None, fullgraph=False, mode=None, backend=None, options=None) -> None:
        self.fn = fn
        self.dynamic = dynamic
        self.fullgraph = fullgraph
        self.mode = mode
        self.backend = backend or "default"
        self.options = dict(options or {})
        self.entries: list[_Entry] = []
        self.events: list[dict] = []  # traces, retraces, graph breaks, fallbacks (what explain reports)
        self.seen_shapes: dict = {}
        self.disabled = backend == "eager"
        self._name = getattr(fn, "__qualname__", None) or type(fn).__name__
        functools.update_wrapper(self, fn, updated=()) if callable(fn) and hasattr(fn, "__name__") else None

    # -- calling ---------------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if harness_hook is not None:  # dynagrad run --compile / --compile-check (harness.py)
            return harness_hook(self, args, kwargs)
        return self._call(args, kwargs)

    def _call(self, args, kwargs):
        if self.disabled or _st.tracer is not None or eager_everywhere:  # inside a trace: inlined into it
            return self.fn(*args, **kwargs)
        reason = None
        depth = -1
        for e in self.entries:
            flat = e.check(args, kwargs)
            if type(flat) is list:
                if e.eager:
                    return self.fn(*args, **kwargs)
                try:
                    out = e.program.run(flat)
                    e.hits += 1
                    return out
                except _GuardMiss as m:
                    reason, depth = e.program.miss_reason(m), 1 << 30
                    continue
            elif flat[0] > depth:
                depth, reason = flat
        return self._new_trace(args, kwargs, reason)

    def _new_trace(self, args, kwargs, reason):
        if len(self.entries) >= cache_size_limit:
            if not any(ev["kind"] == "cache_limit" for ev in self.events):
                msg = (f"{self._name}: cache_size_limit ({cache_size_limit}) reached; last failed guard: "
                       f"{reason}; new situations run eagerly")
                log.warning(msg)
                self.events.append({"kind": "cache_limit", "reason": msg})
            return self.fn(*args, **kwargs)
        if reason is None:
            log.info("%s: tracing", self._name)
        else:
            log.info("%s: retracing because %s", self._name, reason)
        self.events.append({"kind": "trace" if reason is None else "retrace", "reason": reason})
        flat, spec = _guards.flatten(args, kwargs)
        candidates = self._dynamic_dims(flat, spec)
        mods, reach = _tracer.scan(self.fn, flat)
        t0 = time.perf_counter()
        try:
            result, trace = _tracer.run(self.fn, args, kwargs, flat, mods, reach)
        except Unsupported as u:  # refused before the function ran: run it eagerly now
            return self._eager_entry(args, kwargs, flat, spec, str(u), mods, run=True)
        try:
            return self._finish_trace(result, trace, flat, spec, candidates, t0, args, kwargs, mods)
        finally:
            trace.tracer.release()

    def _finish_trace(self, result, trace, flat, spec, candidates, t0, args, kwargs, mods):
        if trace.tracer.failed is not None:
            self._eager_entry(args, kwargs, flat, spec, trace.tracer.failed, mods, run=False, trace=trace)
            return result
        sig = _symbolic.signature(trace.graph)
        dynamic = self._generalise(trace, sig, flat, spec, candidates) if candidates else {}
        try:
            program = build_program(trace, self, dynamic, flat)
        except Unsupported as u:
            self._eager_entry(args, kwargs, flat, spec, str(u), mods, run=False, trace=trace)
            return result
        if self.fullgraph and program.breaks:
            where = ", ".join(_tracer.format_site(n.meta.get("where")) for n in program.breaks)
            raise RuntimeError(f"dynagrad.compile(fullgraph=True): {self._name} reads tensor values into Python "
                               f"(graph breaks at {where})")
        check = _guards.build_check(trace, flat, spec, dynamic)
        entry = _Entry(check, program)
        entry.trace_time = time.perf_counter() - t0
        entry.dynamic = dynamic
        entry.spec = spec
        entry.sig = None if dynamic else sig
        entry.shapes = [x._data.shape if isinstance(x, _Tensor()) else None for x in flat]
        if dynamic:
            log.info("%s: dimensions %s are now symbolic", self._name,
                     ", ".join(f"{j} of argument {i}" for i, js in sorted(dynamic.items()) for j in sorted(js)))
        program.trace_time = entry.trace_time
        self.entries.insert(0, entry)
        for n in program.breaks:
            msg = (f"{self._name}: graph break at {_tracer.format_site(n.meta.get('where'))}: "
                   f"{n.meta['kind']}() of a tensor; the program is specialised on the value "
                   f"{n.meta['expected']!r} and checks it when it runs")
            log.info(msg)
            self.events.append({"kind": "graph_break", "reason": msg, "where": n.meta.get("where")})
        return result

    def _eager_entry(self, args, kwargs, flat, spec, reason, mods, run, trace=None):
        if self.fullgraph:
            raise RuntimeError(f"dynagrad.compile(fullgraph=True): {self._name} cannot be captured as one graph: "
                               f"{reason}")
        msg = f"{self._name}: running eagerly: {reason}"
        log.info(msg)  # as a graph break in PyTorch: silent unless the logger is enabled
        self.events.append({"kind": "fallback", "reason": reason})
        if trace is None:
            trace = _tracer.Trace(_tracer.Tracer(), self.fn)
            trace.aliases, trace.grad_mode, trace.mods = [], _state().grad_enabled, mods
        check = _guards.build_check(trace, flat, spec, {}, eager=True)
        self.entries.insert(0, _Entry(check, None, eager=True, reason=reason))
        if run:
            return self.fn(*args, **kwargs)
        return None

    def _generalise(self, trace, sig, flat, spec, candidates) -> dict:
        """Compare with an earlier trace that differs only in the sizes that changed: if they unify, make
        those sizes symbolic in this trace. Returns {flat index: dims} (empty: stay specialised)."""
        T = _Tensor()
        for e in self.entries:
            if e.sig is None or e.spec != spec:
                continue
            symbols, ok = {}, True
            for i, x in enumerate(flat):
                if not isinstance(x, T):
                    continue
                old, new = e.shapes[i], x._data.shape
                if old is None or len(old) != len(new):
                    ok = False
                    break
                for j, (a, b) in enumerate(zip(old, new)):
                    if a != b:
                        if j in candidates.get(i, ()):
                            symbols[(i, j)] = (a, b)
                        else:
                            ok = False
            if not ok or not symbols:
                continue
            subs = _symbolic.unify(e.sig, sig, symbols)
            if subs is not None:
                _symbolic.apply(trace.graph, subs)
                dyn: dict = {}
                for i, j in symbols:
                    dyn.setdefault(i, set()).add(j)
                return dyn
        return {}

    def _dynamic_dims(self, flat, spec) -> dict:
        """Dimensions of tensor arguments that already changed between calls (made symbolic)."""
        if self.dynamic is False:
            return {}
        from ..tensor import Tensor
        out = {}
        for i, x in enumerate(flat):
            if not isinstance(x, Tensor):
                continue
            key = (i, x._data.ndim)
            prev = self.seen_shapes.get(key)
            shape = x._data.shape
            if prev is None:
                self.seen_shapes[key] = [set([n]) for n in shape]
                if self.dynamic:
                    out[i] = set(range(1 if x._data.ndim else 0)) & {j for j, n in enumerate(shape) if n >= 2}
                continue
            for j, n in enumerate(shape):
                prev[j].add(n)
            dims = {j for j, s in enumerate(prev) if len(s) > 1 and shape[j] >= 2}
            if dims:
                out[i] = dims
        return {k: v for k, v in out.items() if v}

    # -- inspection ------------------------------------------------------------------------------------
    @property
    def programs(self) -> list[Program]:
        return [e.program for e in self.entries if e.program is not None]

    @property
    def graph(self):
        """The IR of the most recently made program."""
        p = self.programs
        return p[0].graph if p else None

    @property
    def code(self) -> str:
        """The generated source of the most recently made program."""
        p = self.programs
        return p[0].code if p else ""

    def __get__(self, obj, objtype=None):  # decorating a method
        if obj is None:
            return self
        bound = self.__dict__.setdefault("_bound", {})
        cf = bound.get(id(obj))
        if cf is None:
            cf = bound[id(obj)] = CompiledFunction(types.MethodType(self.fn, obj), self.dynamic, self.fullgraph,
                                                   self.mode, self.backend, self.options)
        return cf

    def __repr__(self) -> str:
        return f"<dynagrad.compile of {self._name}: {len(self.programs)} program(s)>"


class CompiledModule:
    """``dynagrad.compile(module)``: the module with ``forward`` compiled (attributes pass through)."""

    def __init__(self, module, **kw) -> None:
        object.__setattr__(self, "_orig_mod", module)
        object.__setattr__(self, "_compiled", CompiledFunction(module, **kw))

    def __call__(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._orig_mod, name)

    def __setattr__(self, name, value):
        setattr(self._orig_mod, name, value)

    def __repr__(self) -> str:
        return f"OptimizedModule({self._orig_mod!r})"


def _state():
    from ..autograd import state
    return state


def _Tensor():  # noqa: N802
    from ..tensor import Tensor
    return Tensor


def compile(model=None, *, fullgraph: bool = False, dynamic: bool | None = None, backend=None, mode=None,  # noqa: A001
            options: dict | None = None, disable: bool = False):
    """Compile a function or a Module (also usable as ``@dynagrad.compile`` or ``@dynagrad.compile(...)``).

    ``dynamic``: None (default) makes a dimension symbolic once it changed between calls, True from the
    first call, False never. ``backend``: "numpy" (default), "numba" (fused kernels through numba when it
    is installed; the default when it is), or "eager" (no compilation). ``mode`` is accepted for PyTorch
    compatibility. ``fullgraph=True`` raises instead of falling back to eager execution.
    """
    kw = dict(fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode, options=options)
    if model is None:
        return lambda m: compile(m, disable=disable, **kw)
    if disable:
        return model
    from ..nn.modules.module import Module
    if isinstance(model, Module):
        return CompiledModule(model, **kw)
    return CompiledFunction(model, **kw)


def explain(fn, *args, **kwargs):
    """Compile ``fn`` afresh, call it on the arguments, and report what happened: programs, graph breaks
    (with their lines), fallbacks and their reasons, guards, op counts and compile times."""
    from .explain import ExplainOutput
    cf = fn if isinstance(fn, CompiledFunction) else (fn._compiled if isinstance(fn, CompiledModule)
                                                       else CompiledFunction(fn))
    if cf is fn:
        cf = CompiledFunction(fn.fn, fn.dynamic, fn.fullgraph, fn.mode, fn.backend, fn.options)
    cf(*args, **kwargs)
    return ExplainOutput(cf)


def reset() -> None:
    """Accepted for PyTorch compatibility (``torch._dynamo.reset``): caches live on compiled functions."""


from .runtime import GuardMiss as _GuardMiss  # noqa: E402


class _CompileModule(types.ModuleType):
    """``dynagrad.compile`` is this package and, called, the compile function."""

    def __call__(self, *args, **kwargs):
        return compile(*args, **kwargs)


sys.modules[__name__].__class__ = _CompileModule

__all__ = ["compile", "explain", "CompiledFunction", "CompiledModule", "Unsupported", "cache_size_limit"]
