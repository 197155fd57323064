"""``Proxy``: the value-less stand-in symbolic tracing passes through a program. Every operation on it
(operators, attribute access, method calls, dynagrad functions) records a Node instead of computing.

A Proxy has no value, so Python asking for one (``if proxy:``, ``for v in proxy``, ``len(proxy)``) cannot be
answered: that is a ``TraceError`` (a ``RuntimeError`` for ``len``), as in PyTorch.

>>> import dynagrad as torch
>>> from dynagrad import fx
>>> g = fx.Graph()
>>> x = fx.Proxy(g.placeholder("x"))
>>> y = torch.relu(x) * 2 + x.sum(dim=0)
>>> _ = g.output(y.node)
>>> [n.name for n in g.nodes]
['x', 'relu', 'mul', 'sum_1', 'add', 'output']
"""
from __future__ import annotations

import collections
import copy
import dis
import enum
import operator
import sys
import traceback
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any

from . import _patch
from .graph import Graph, magic_methods, reflectable_magic_methods
from .node import Node, map_aggregate

__all__ = ["TracerBase", "GraphAppendingTracer", "TraceError", "Proxy", "Attribute", "ParameterProxy",
           "Scope", "ScopeContextManager"]


class TraceError(ValueError):
    """Symbolic tracing met a Python operation that needs a value the trace does not have."""


class Scope:
    """The module a node was recorded in: its path from the root and its class."""

    def __init__(self, module_path: str, module_type: Any) -> None:
        self.module_path = module_path
        self.module_type = module_type


class ScopeContextManager:
    """Set the tracer's scope for the duration of a module call."""

    def __init__(self, scope: Scope, current_scope: Scope) -> None:
        self._prev = copy.copy(scope)
        scope.module_path = current_scope.module_path
        scope.module_type = current_scope.module_type
        self._scope = scope

    def __enter__(self) -> Scope:
        return self._scope

    def __exit__(self, *args) -> None:
        self._scope.module_path = self._prev.module_path
        self._scope.module_type = self._prev.module_type


def _base_types() -> tuple:
    import dynagrad
    return (str, int, float, bool, complex, type(dynagrad.float32), type(dynagrad.bfloat16), dynagrad.Tensor,
            dynagrad.device, dynagrad.layout, enum.Enum)


def _user_where(depth: int = 2) -> str | None:
    """'file.py:12: if x.sum() > 0:' for the user's frame (the first outside dynagrad)."""
    from .. import _source
    where = _source.user_frame(depth + 1)
    return _source.format_where(where) if where else None


def _annotate(err: Exception) -> Exception:
    where = _user_where(3)
    if where:
        err.add_note(f"(symbolic tracing reached this at {where})")
    return err


class TracerBase:
    """What a Proxy records into: ``create_proxy`` -> ``create_arg`` (lowering values) -> ``create_node``."""

    graph: Graph
    record_stack_traces: bool = False
    check_mutable_operations: bool = False
    trace_asserts: bool = False
    proxy_buffer_attributes: bool = False
    traced_func_name: str = "forward"
    scope: Scope
    module_stack: collections.OrderedDict
    node_name_to_scope: dict

    def create_node(self, kind: str, target, args: tuple, kwargs: dict, name: str | None = None,
                    type_expr: Any | None = None) -> Node:
        """Insert a node into the graph (override to check or change what is recorded)."""
        node = self.graph.create_node(kind, target, args, kwargs, name, type_expr)
        self.node_name_to_scope[node.name] = (self.scope.module_path, self.scope.module_type)
        meta = _current_meta()
        if meta is not None:
            for key in ("nn_module_stack", "stack_trace", "source_fn_stack", "custom"):
                if key in meta:
                    node.meta[key] = copy.copy(meta[key])
        elif self.module_stack:
            node.meta["nn_module_stack"] = copy.copy(self.module_stack)
        if self.record_stack_traces and not node.stack_trace:
            frames = traceback.extract_stack()
            for i, frame in enumerate(frames):
                if frame.name == "forward":
                    node.stack_trace = "".join(traceback.format_list(frames[i:-1])).strip()
                    break
        return node

    def proxy(self, node: Node) -> Proxy:
        return Proxy(node, self)

    def create_proxy(self, kind: str, target, args: tuple, kwargs: dict, name: str | None = None,
                     type_expr: Any | None = None, proxy_factory_fn: Callable[[Node], Proxy] | None = None
                     ) -> Proxy:
        """Lower ``args``/``kwargs`` with ``create_arg``, record a node, and wrap it in a Proxy."""
        args_ = self.create_arg(args)
        kwargs_ = self.create_arg(kwargs)
        node = self.create_node(kind, target, args_, kwargs_, name, type_expr)
        return self.proxy(node) if not proxy_factory_fn else proxy_factory_fn(node)

    def create_arg(self, a: Any) -> Any:
        """Lower a value seen as an argument into what a Node stores: Proxies become their Nodes,
        containers are lowered element by element, constants stay as they are."""
        if isinstance(a, Proxy):
            return a.node
        if hasattr(type(a), "__fx_create_arg__"):
            return a.__fx_create_arg__(self)
        if isinstance(a, tuple):
            if hasattr(a, "_fields"):
                return type(a)(*[self.create_arg(e) for e in a])
            return type(a)([self.create_arg(e) for e in a])
        if isinstance(a, list):
            return [self.create_arg(e) for e in a]
        if isinstance(a, dict):
            r = {}
            for key, v in a.items():
                key = self.create_arg(key)
                if any(isinstance(x, Node) for x in _leaves(key)):
                    raise RuntimeError(f"Keys for dictionaries used as an argument cannot contain a Node. "
                                       f"Got key: {key}")
                r[key] = self.create_arg(v)
            return r
        if isinstance(a, slice):
            return slice(self.create_arg(a.start), self.create_arg(a.stop), self.create_arg(a.step))
        if isinstance(a, range):
            return range(self.create_arg(a.start), self.create_arg(a.stop), self.create_arg(a.step))
        if is_dataclass(a) and not isinstance(a, type):
            kwargs = {f.name: self.create_arg(getattr(a, f.name)) for f in fields(a)}
            return self.create_node("call_function", a.__class__, (), kwargs)
        if isinstance(a, _base_types()) or a is None or a is ...:
            return a
        raise NotImplementedError(f"argument of type: {type(a)}")

    def to_bool(self, obj: Proxy) -> bool:
        """Called when a Proxy is used where Python needs a bool (``if``, ``while``, ``and``)."""
        raise TraceError("symbolically traced variables cannot be used as inputs to control flow")

    def iter(self, obj: Proxy):
        """Called when a Proxy is iterated over (a loop, ``*proxy``)."""
        raise TraceError("Proxy object cannot be iterated. This can be attempted when the Proxy is used in a "
                         "loop or as a *args or **kwargs function argument. See the torch.fx docs on "
                         "pytorch.org for a more detailed explanation of what types of control flow can be "
                         "traced, and check out the Proxy docstring for help troubleshooting Proxy iteration "
                         "errors")

    def keys(self, obj: Proxy) -> Any:
        """Called for ``**proxy``: records a ``keys`` method call."""
        return Attribute(obj, "keys")()


# The node an Interpreter-driven Transformer is running, whose meta new nodes inherit
_meta_stack: list[dict] = []


def _current_meta() -> dict | None:
    return _meta_stack[-1] if _meta_stack else None


class GraphAppendingTracer(TracerBase):
    """The tracer of Proxies made around existing Nodes: operations append nodes to that graph."""

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        self.graph = graph
        self.scope = Scope("", None)
        self.module_stack = collections.OrderedDict()
        self.node_name_to_scope = {}


def _leaves(a) -> list:
    out: list = []
    map_aggregate(a, lambda x: out.append(x) or x)
    return out


def _find_tracer(args, kwargs) -> TracerBase | None:
    """The tracer of the first Proxy among the arguments (looking into lists, tuples and dicts)."""
    for a in args:
        t = _tracer_in(a)
        if t is not None:
            return t
    for a in kwargs.values():
        t = _tracer_in(a)
        if t is not None:
            return t
    return None


def _tracer_in(a) -> TracerBase | None:
    if isinstance(a, Proxy):
        return a.tracer
    if type(a) in (list, tuple) or isinstance(a, (list, tuple)):
        for e in a:
            t = _tracer_in(e)
            if t is not None:
                return t
    elif isinstance(a, dict):
        for e in a.values():
            t = _tracer_in(e)
            if t is not None:
                return t
    elif isinstance(a, slice):
        return _tracer_in((a.start, a.stop, a.step))
    return None


class Proxy:
    """A Node wrapper that records what a program does with it (see the module docstring).

    ``Proxy(node)`` around a Node of your own graph appends to that graph, which is how graph
    transformations can be written as ordinary code.
    """

    def __init__(self, node: Node, tracer: TracerBase | None = None) -> None:
        if tracer is None:
            tracer = GraphAppendingTracer(node.graph)
        d = self.__dict__
        d["tracer"] = tracer
        d["node"] = node
        if not _patch.tracing:  # a Proxy around a graph being built by hand: functions record while it lives
            _patch.acquire()
            d["_fx_counted"] = True

    def __del__(self) -> None:
        if self.__dict__.get("_fx_counted"):
            self.__dict__["_fx_counted"] = False
            _patch.release()

    def __repr__(self) -> str:
        return f"Proxy({self.node.name})"

    def __getattr__(self, k: str) -> Attribute:
        if k.startswith("__") and k.endswith("__"):
            raise AttributeError(k)
        return Attribute(self, k)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_fx_counted"}

    def __setstate__(self, d: dict) -> None:
        self.__dict__.update(d)
        if not _patch.tracing:
            _patch.acquire()
            self.__dict__["_fx_counted"] = True

    def __deepcopy__(self, memo: dict) -> Proxy:
        d = {}
        for k, v in self.__dict__.items():
            if k == "_fx_counted":
                continue
            try:
                d[k] = copy.deepcopy(v, memo)
            except Exception:
                d[k] = copy.copy(v)
        new = Proxy(d["node"], d["tracer"])
        for k, v in d.items():
            new.__dict__[k] = v
        return new

    def __call__(self, *args, **kwargs) -> Proxy:
        return self.tracer.create_proxy("call_method", "__call__", (self,) + args, kwargs)

    def __iter__(self):
        frame = sys._getframe(1)
        insts = list(dis.get_instructions(frame.f_code))
        i = bisect_right(insts, frame.f_lasti, key=lambda x: x.offset) - 1  # f_lasti may be in its caches
        if i < len(insts) and insts[i].opname == "UNPACK_SEQUENCE":
            return (self[k] for k in range(insts[i].argval))
        try:
            return self.tracer.iter(self)
        except TraceError as e:
            raise _annotate(e) from None

    def __abs__(self) -> Proxy:
        return self.tracer.create_proxy("call_function", operator.abs, (self,), {})

    def __bool__(self) -> bool:
        if self.tracer.trace_asserts and _is_assert(sys._getframe(1)):
            from ._symbolic_trace import assert_fn
            self.tracer.create_proxy("call_function", assert_fn, (self,), {})
            return True
        try:
            return self.tracer.to_bool(self)
        except TraceError as e:
            raise _annotate(e) from None

    def keys(self):
        return self.tracer.keys(self)

    def __len__(self) -> int:
        raise _annotate(RuntimeError("'len' is not supported in symbolic tracing by default. If you want this "
                                     "call to be recorded, please call torch.fx.wrap('len') at module scope"))


def _is_assert(frame) -> bool:
    """Whether the bool being asked for is an ``assert`` statement's (its jump leads to raising
    AssertionError)."""
    insts = list(dis.get_instructions(frame.f_code))
    cur = bisect_right(insts, frame.f_lasti, key=lambda x: x.offset) - 1
    if cur + 1 >= len(insts) or not insts[cur].opname.startswith("POP_JUMP"):
        return False
    nxt = insts[cur + 1]
    return nxt.opname == "LOAD_ASSERTION_ERROR" or (nxt.opname == "LOAD_GLOBAL" and nxt.argval == "AssertionError")


class Attribute(Proxy):
    """``proxy.name``: a method call when called, else a ``getattr`` node (made only when used)."""

    def __init__(self, root: Proxy, attr: str) -> None:
        d = self.__dict__
        d["root"] = root
        d["attr"] = attr
        d["tracer"] = root.tracer
        d["_node"] = None

    @property
    def node(self) -> Node:
        if self._node is None:
            self.__dict__["_node"] = self.tracer.create_proxy("call_function", getattr, (self.root, self.attr),
                                                              {}).node
        return self._node

    def __call__(self, *args, **kwargs) -> Proxy:
        return self.tracer.create_proxy("call_method", self.attr, (self.root,) + args, kwargs)


class ParameterProxy(Proxy):
    """A Proxy for a parameter whose shape is known while tracing (``Tracer(param_shapes_constant=True)``):
    ``shape``, ``size()``, ``dim()``, ``ndim``, ``numel()`` answer from the parameter itself."""

    def __init__(self, tracer: TracerBase, node: Node, name: str, param) -> None:
        super().__init__(node, tracer)
        self.__dict__["param"] = param
        self.__dict__["name"] = name

    def __repr__(self) -> str:
        return f"ParameterProxy({self.name})"

    @property
    def shape(self):
        return self.param.shape

    def size(self, dim=None):
        return self.param.size() if dim is None else self.param.size(dim)

    def dim(self) -> int:
        return self.param.dim()

    @property
    def ndim(self) -> int:
        return self.param.ndim

    def numel(self) -> int:
        return self.param.numel()

    def nelement(self) -> int:
        return self.param.nelement()


def _define_magic(method: str) -> None:
    target = getattr(operator, method, None)
    if target is None:  # ``div``: Python 2's name, which Python 3 never calls
        return

    def impl(*args, **kwargs):
        return args[0].tracer.create_proxy("call_function", target, args, kwargs)

    impl.__name__ = method
    setattr(Proxy, f"__{method.strip('_')}__", impl)


def _define_reflectable(method: str) -> None:
    target = getattr(operator, method, None)
    if target is None:
        return
    name = f"__r{method.strip('_')}__"

    def impl(self, rhs):
        return self.tracer.create_proxy("call_function", target, (rhs, self), {})

    impl.__name__ = impl.__qualname__ = name
    setattr(Proxy, name, impl)


for _m in magic_methods:
    _define_magic(_m)
for _m in reflectable_magic_methods:
    _define_reflectable(_m)
del _m
# Proxy defines __eq__, so it needs its own hash to stay usable as a dict key and in sets
Proxy.__hash__ = object.__hash__
