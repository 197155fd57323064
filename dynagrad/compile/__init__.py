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
autograd Functions in backward, hooks, in-place changes of views, Python side effects, prints, ...) runs
eagerly, with the reason logged; ``explain(fn, *args)`` reports all of this.

What a program reads is read when it runs or checked before it runs (``guards.py``): tensor arguments'
and parameters' data are read at every call (so an optimizer's in-place update outside is seen); shapes,
dtypes, requires_grad, grad mode, autocast, inference mode, the default dtype, module training flags,
hooks, which submodules, parameters and buffers a module holds, the modules' and reachable objects' plain
attributes, and the globals and closure variables the code reads are checked. Random draws (dropout,
``randn``, ``randn_like``) are repeated in order on the same generator, so a seed gives eager's numbers.
Version counters move as eagerly, and a compiled backward checks them as autograd does. A traced call
that changes Python state (a counter, a carried hidden state, ``list.append``) or prints runs eagerly. One
thing is not checked: a value read from a container the code indexes (``opt.param_groups[0]["lr"]`` used
in the function's own arithmetic); optimizer steps themselves read their hyperparameters at every call.
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
automatic_dynamic_shapes = True  # torch._dynamo.config.automatic_dynamic_shapes
assume_static_by_default = True  # torch._dynamo.config.assume_static_by_default
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

    def __init__(self, fn, dynamic=None, fullgraph=False, mode=None, backend=None, options=None,
                 recompile_limit=None) -> None:
        from . import api
        self.fn = fn
        self.dynamic = dynamic
        self.fullgraph = fullgraph
        self.mode = mode
        self.backend_name = backend or "inductor"
        self.backend = api.COMPILING.get(self.backend_name, self.backend_name)  # "default", "numpy", "numba"
        self.options = dict(options or {})
        self.recompile_limit = recompile_limit
        self.entries: list[_Entry] = []
        self.events: list[dict] = []  # traces, retraces, graph breaks, fallbacks (what explain reports)
        self.seen_shapes: dict = {}
        self.disabled = self.backend_name in api.EAGER
        self._name = getattr(fn, "__qualname__", None) or type(fn).__name__
        functools.update_wrapper(self, fn, updated=()) if callable(fn) and hasattr(fn, "__name__") else None
        api._all.add(self)

    def __deepcopy__(self, memo):
        """A copy compiles afresh for the copied function (a bound method of a copied module)."""
        import copy
        return CompiledFunction(copy.deepcopy(self.fn, memo), self.dynamic, self.fullgraph, self.mode,
                                self.backend_name, self.options, self.recompile_limit)

    def reset(self) -> None:
        """Forget every program (the next call traces again)."""
        self.entries.clear()
        self.seen_shapes.clear()

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
        if self.backend_name in _unavailable():
            from .._dynamo import exc
            raise exc.BackendCompilerFailed(self.backend_name, ImportError(
                f"the {self.backend_name} backend needs {_unavailable()[self.backend_name]}, which dynagrad does "
                f"not have; use backend='inductor' (dynagrad's compiler)"))
        limit = cache_size_limit if self.recompile_limit is None else self.recompile_limit
        if len(self.entries) >= limit:
            if not any(ev["kind"] == "cache_limit" for ev in self.events):
                msg = (f"{self._name}: cache_size_limit ({limit}) reached; last failed guard: "
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
        except Exception as e:  # noqa: BLE001 - a fault of the compiler: the call already ran; stay eager
            from .._dynamo import exc
            if isinstance(e, exc.TorchDynamoException):
                raise
            log.warning("%s: internal error while compiling (%s: %s); running eagerly", self._name,
                        type(e).__name__, e)
            self._eager_entry(args, kwargs, flat, spec, f"internal error: {type(e).__name__}: {e}", mods, run=False,
                              trace=trace)
            return result
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
            from .._dynamo import exc
            where = ", ".join(_tracer.format_site(n.meta.get("where")) for n in program.breaks)
            raise exc.Unsupported(f"dynagrad.compile(fullgraph=True): {self._name} reads tensor values into Python "
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
            from .._dynamo import exc
            raise exc.Unsupported(f"dynagrad.compile(fullgraph=True): {self._name} cannot be captured as one graph: "
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
        """Dimensions of tensor arguments that already changed between calls, or were marked with
        ``torch._dynamo.mark_dynamic`` (candidates to become symbolic)."""
        dynamic = self.dynamic
        if dynamic is False:
            return {}
        auto = dynamic is True or automatic_dynamic_shapes
        first = dynamic is True or (dynamic is None and not assume_static_by_default)
        from ..tensor import Tensor
        dynamo = sys.modules.get("dynagrad._dynamo")
        out = {}
        for i, x in enumerate(flat):
            if not isinstance(x, Tensor):
                continue
            shape = x._data.shape
            big = {j for j, n in enumerate(shape) if n >= 2}  # sizes 0 and 1 broadcast: always specialised
            dims = set()
            if dynamo is not None and dynamo._dynamic_marks:
                dims |= {j % max(1, len(shape)) for j in dynamo.marked_dims(x)} & big
            key = (i, x._data.ndim)
            prev = self.seen_shapes.get(key)
            if prev is None:
                self.seen_shapes[key] = [set([n]) for n in shape]
                if first:
                    dims |= set(range(1 if shape else 0)) & big
            else:
                for j, n in enumerate(shape):
                    prev[j].add(n)
                if auto:
                    dims |= {j for j, seen in enumerate(prev) if len(seen) > 1} & big
            if dims:
                out[i] = dims
        return out

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
                                                   self.mode, self.backend_name, self.options, self.recompile_limit)
        return cf

    def __repr__(self) -> str:
        return f"<dynagrad.compile of {self._name}: {len(self.programs)} program(s)>"


def _unavailable() -> dict:
    from .api import UNAVAILABLE
    return UNAVAILABLE


def _state():
    from ..autograd import state
    return state


def _Tensor():  # noqa: N802
    from ..tensor import Tensor
    return Tensor


def compile(model=None, *, fullgraph: bool = False, dynamic: bool | None = None, backend="inductor",  # noqa: A001
            mode: str | None = None, options: dict | None = None, name: str | None = None, disable: bool = False,
            recompile_limit: int | None = None, isolate_recompiles: bool = False, shapes_spec=None):
    """Compile a function or a Module, as ``torch.compile`` (also ``@dynagrad.compile`` and
    ``@dynagrad.compile(...)``). A Module gives an ``OptimizedModule`` (``_orig_mod`` inside), a function a
    compiled function (``.code``, ``.graph``, ``.programs`` show what was made). See ``api.py`` for what
    ``backend``, ``mode``, ``options`` and ``dynamic`` mean here; ``name``, ``isolate_recompiles`` and
    ``shapes_spec`` are accepted and have no effect.

    >>> import dynagrad
    >>> dynagrad.compile(lambda x: x * 2, backend="eager")(dynagrad.ones(2))
    tensor([2., 2.])
    """
    from . import api
    api.check_arguments(backend, mode, options)
    kw = dict(fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode, options=options,
              recompile_limit=recompile_limit)
    if model is None:
        return lambda m: compile(m, disable=disable, **kw)
    if disable:
        return model
    if isinstance(model, api.OptimizedModule):
        model = model._orig_mod
    from ..nn.modules.module import Module
    if isinstance(model, Module):
        inner = model
        from ..nn.parallel.distributed import DistributedDataParallel
        if isinstance(model, DistributedDataParallel):
            return api.OptimizedModule(model, _DDPCompiled(model, kw))
        return api.OptimizedModule(inner, CompiledFunction(inner, **kw))
    return CompiledFunction(model, **kw)


class _DDPCompiled:
    """``torch.compile(DistributedDataParallel(model))``: DDP's own forward (which arms the gradient averaging
    of the coming backward) runs as it is, around the wrapped model's call, which is compiled."""

    def __init__(self, ddp, kw) -> None:
        self.ddp = ddp
        self.inner = CompiledFunction(ddp.module, **kw)

    def __call__(self, *args, **kwargs):
        return self.ddp.forward_with(self.inner, *args, **kwargs)

    @property
    def programs(self):
        return self.inner.programs

    @property
    def events(self):
        return self.inner.events


def explain(fn, *args, **kwargs):
    """Compile ``fn`` afresh, call it on the arguments, and report what happened: programs, graph breaks
    (with their lines), fallbacks and their reasons, guards, op counts and compile times. Without arguments
    it returns a function to call with them (``torch._dynamo.explain(fn)(*args)``)."""
    from .api import OptimizedModule
    from .explain import ExplainOutput
    if not args and not kwargs:
        return lambda *a, **k: explain(fn, *a, **k)
    if isinstance(fn, OptimizedModule):
        fn = fn._orig_mod
    target = fn.fn if isinstance(fn, CompiledFunction) else fn
    cf = CompiledFunction(target, getattr(fn, "dynamic", None), getattr(fn, "fullgraph", False))
    cf(*args, **kwargs)
    return ExplainOutput(cf)


def reset() -> None:
    """Forget every compiled program (``torch.compiler.reset``, ``torch._dynamo.reset``): the next call of
    each compiled function traces again."""
    from .api import _all
    for cf in list(_all):
        cf.reset()


from .runtime import GuardMiss as _GuardMiss  # noqa: E402


class _CompileModule(types.ModuleType):
    """``dynagrad.compile`` is this package and, called, the compile function."""

    def __call__(self, *args, **kwargs):
        return compile(*args, **kwargs)


sys.modules[__name__].__class__ = _CompileModule

from .api import OptimizedModule  # noqa: E402

CompiledModule = OptimizedModule  # the earlier name

__all__ = ["compile", "explain", "reset", "CompiledFunction", "OptimizedModule", "Unsupported", "cache_size_limit"]
