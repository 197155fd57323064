"""Symbolic tracing: run a module's ``forward`` (or a function) on Proxies and record what it does.

Standard ``nn`` modules are leaves (one ``call_module`` node each); other modules are traced through.
Parameters used directly become ``get_attr`` nodes; other tensors the code touches are found among the
module's attributes (``get_attr``) or kept as ``_tensor_constant<N>`` attributes.

>>> import dynagrad as torch
>>> import dynagrad.nn as nn
>>> from dynagrad import fx
>>> class M(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.lin = nn.Linear(4, 3)
...     def forward(self, x):
...         return torch.relu(self.lin(x)).flatten(1) + 1
>>> gm = fx.symbolic_trace(M())
>>> [(n.op, n.name) for n in gm.graph.nodes]  # doctest: +NORMALIZE_WHITESPACE
[('placeholder', 'x'), ('call_module', 'lin'), ('call_function', 'relu'), ('call_method', 'flatten'),
 ('call_function', 'add'), ('output', 'output')]
>>> print(gm.code.strip())
def forward(self, x):
    lin = self.lin(x);  x = None
    relu = torch.relu(lin);  lin = None
    flatten = relu.flatten(1);  relu = None
    add = flatten + 1;  flatten = None
    return add
"""
from __future__ import annotations

import builtins
import collections
import functools
import inspect
import math
import sys
import warnings
from collections.abc import Callable
from itertools import chain
from types import CodeType, FunctionType
from typing import Any

from . import _patch
from .graph import Graph
from .node import map_aggregate
from .proxy import ParameterProxy, Proxy, Scope, ScopeContextManager, TracerBase, _base_types

__all__ = ["Tracer", "symbolic_trace", "wrap", "PH", "PHBase", "is_fx_tracing"]

_CO_VARARGS = inspect.CO_VARARGS
_CO_VARKEYWORDS = inspect.CO_VARKEYWORDS
_is_fx_tracing = False


def is_fx_tracing() -> bool:
    """True while ``symbolic_trace``/``Tracer.trace`` runs."""
    return _is_fx_tracing


def _assert_impl(condition, message: str = "") -> None:
    """``torch._assert``: assert that survives symbolic tracing (recorded as a node)."""
    assert condition, message


def _assert_is_none(value, msg: str) -> None:
    assert value is None, msg


def assert_fn(x) -> None:
    if not x:
        raise AssertionError("Assertion failed")


class PHBase:
    """Object representing an input placeholder to ``concrete_args``."""

    def __repr__(self) -> str:
        return "PH"


PH = PHBase()


# -- patching module-level names for the duration of a trace -------------------------------------------
_MISSING = object()


class _Patcher:
    """Set attributes/dict entries for the duration of a trace and put the old values back after."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []
        self._visited: set[tuple[int, str]] = set()

    def patch(self, frame_dict: dict, name: str, new_fn) -> None:
        old = frame_dict.get(name, _MISSING)
        if old is _MISSING:
            self._undo.append(lambda: frame_dict.pop(name, None))
        else:
            self._undo.append(lambda: frame_dict.__setitem__(name, old))
        frame_dict[name] = new_fn

    def patch_method(self, cls: type, name: str, new_fn) -> None:
        old = cls.__dict__[name]
        setattr(cls, name, new_fn)
        self._undo.append(lambda: setattr(cls, name, old))

    def visit_once(self, thing: Any) -> bool:
        key = (id(thing), "")
        if key in self._visited:
            return False
        self._visited.add(key)
        return True

    def __enter__(self) -> _Patcher:
        return self

    def __exit__(self, *exc) -> None:
        while self._undo:
            self._undo.pop()()


# (id(globals), name) -> globals: functions registered with fx.wrap
_wrapped_fns_to_patch: dict[tuple[int, str], dict] = {}


def _find_proxy(*objs) -> Proxy | None:
    found = []

    def look(x):
        if isinstance(x, Proxy) and not found:
            found.append(x)
        return x
    map_aggregate(objs, look)
    return found[0] if found else None


def _create_wrapped_func(orig_fn):
    @functools.wraps(orig_fn)
    def wrapped(*args, **kwargs):
        proxy = _find_proxy(args, kwargs)
        if proxy is not None:
            out = proxy.tracer.create_proxy("call_function", orig_fn, args, kwargs)
            out.node.meta["is_wrapped"] = True
            return out
        return orig_fn(*args, **kwargs)
    return wrapped


def _patch_wrapped_functions(patcher: _Patcher) -> None:
    for (_, name), frame_dict in list(_wrapped_fns_to_patch.items()):
        if name not in frame_dict and hasattr(builtins, name):
            orig_fn = getattr(builtins, name)
        elif name in frame_dict:
            orig_fn = frame_dict[name]
        else:
            continue  # the module's namespace no longer has it (deleted, or a finished doctest's)
        patcher.patch(frame_dict, name, _create_wrapped_func(orig_fn))


def _autowrap_check(patcher: _Patcher, frame_dict: dict, function_ids: set[int]) -> None:
    """Patch the names in ``frame_dict`` bound to autowrapped functions (``math.*`` by default)."""
    if patcher.visit_once(frame_dict):
        for name, value in list(frame_dict.items()):
            if not name.startswith("_") and callable(value) and id(value) in function_ids:
                patcher.patch(frame_dict, name, _create_wrapped_func(value))


def wrap(fn_or_name: str | Callable):
    """Record calls of a module-level function as one ``call_function`` node instead of tracing into it.

    Call it at the top level of the module that defines (or uses) the function, with the function or its
    name: ``torch.fx.wrap('len')``, or as a decorator.

    >>> from dynagrad import fx
    >>> def helper(x):
    ...     return x
    >>> fx.wrap(helper) is helper  # at module level (doctests run at one)
    True
    """
    if not callable(fn_or_name) and not isinstance(fn_or_name, str):
        raise RuntimeError("Unsupported type for global function! Must be either a callable or string name")
    fn_name = fn_or_name if isinstance(fn_or_name, str) else fn_or_name.__name__
    f = sys._getframe(1)
    if f.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    _wrapped_fns_to_patch[(id(f.f_globals), fn_name)] = f.f_globals
    return fn_or_name


def _patch_function(fn: FunctionType, nargs: int) -> FunctionType:
    """A copy of ``fn`` taking its ``*args``/``**kwargs``/keyword-only parameters as plain positional ones
    (each bound to one placeholder Proxy)."""
    co: CodeType = fn.__code__
    flags = co.co_flags & ~(_CO_VARARGS | _CO_VARKEYWORDS)
    new = co.replace(co_argcount=nargs, co_kwonlyargcount=0, co_posonlyargcount=0, co_flags=flags)
    return FunctionType(new, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)


class Tracer(TracerBase):
    """The symbolic tracer behind ``symbolic_trace``; subclass it to change what is a leaf module
    (``is_leaf_module``), how module calls and attribute reads are recorded (``call_module``, ``getattr``),
    or how values become node arguments (``create_arg``).

    ``autowrap_modules``: modules whose functions are recorded as calls when given a Proxy (``math``);
    ``autowrap_functions``: single such functions; ``param_shapes_constant``: parameters' shapes answer
    from the parameter instead of recording ``size`` nodes.
    """

    def __init__(self, autowrap_modules: tuple = (math,), autowrap_functions: tuple = (),
                 param_shapes_constant: bool = False) -> None:
        super().__init__()
        self._autowrap_function_ids = {id(value) for name, value in chain(*[m.__dict__.items()
                                                                             for m in autowrap_modules])
                                       if not name.startswith("_") and callable(value)}
        self._autowrap_function_ids.update({id(f) for f in autowrap_functions})
        self._autowrap_search = list(autowrap_modules)
        self.param_shapes_constant = param_shapes_constant
        self.submodule_paths: dict | None = None
        self.root_module_name = ""
        self.scope = Scope("", None)
        self.module_stack = collections.OrderedDict()
        self.num_calls: dict[str, int] = {}
        self.node_name_to_scope: dict[str, tuple[str, type]] = {}
        self._qualname_counter: dict[str, int] = collections.defaultdict(int)

    # -- what values become ------------------------------------------------------------------------------
    def create_arg(self, a: Any) -> Any:
        """As ``TracerBase.create_arg``, plus: a Parameter of the root becomes ``get_attr`` of its name, a
        buffer or tensor attribute ``get_attr`` of its path, any other tensor a ``_tensor_constant<N>``
        attribute of the root."""
        import dynagrad
        import dynagrad.nn as nn
        if isinstance(a, nn.Parameter):
            for n, p in self.root.named_parameters():
                if a is p:
                    return self.create_node("get_attr", n, (), {})
            raise NameError("parameter is not a member of this module")
        if isinstance(a, dynagrad.Tensor):
            for n_, p_ in self.root.named_buffers():
                if a is p_:
                    return self.create_node("get_attr", n_, (), {})
        elif isinstance(a, nn.Module):
            for n_, p_ in self.root.named_modules():
                if a is p_:
                    return self.create_node("get_attr", n_, (), {})
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            return self.create_node("call_function", a.__class__, tuple(self.create_arg(e) for e in a), {})
        if isinstance(a, dynagrad.Tensor):
            qualname = self.tensor_attrs.get(a)
            if not qualname:
                qualname = self.get_fresh_qualname("_tensor_constant")
                self.tensor_attrs[a] = qualname
                setattr(self.root, qualname, a)
            return self.create_node("get_attr", qualname, (), {})
        return super().create_arg(a)

    def get_fresh_qualname(self, prefix: str) -> str:
        """An attribute name ``prefix<N>`` the root does not have yet."""
        i = self._qualname_counter[prefix]
        while hasattr(self.root, f"{prefix}{i}"):
            i += 1
        self._qualname_counter[prefix] = i + 1
        return f"{prefix}{i}"

    # -- modules -----------------------------------------------------------------------------------------------
    def is_leaf_module(self, m, module_qualified_name: str) -> bool:
        """Whether ``m`` is recorded as one ``call_module`` node: by default the standard ``nn`` modules
        (but not ``Sequential``), whose ``__module__`` is under ``torch.nn`` (``dynagrad.nn`` here)."""
        import dynagrad.nn as nn
        mod = m.__module__
        return (mod.startswith(("dynagrad.nn", "torch.nn", "torch.ao.nn"))
                and not isinstance(m, nn.Sequential))

    def path_of_module(self, mod) -> str:
        """The dotted path of ``mod`` in the root (``"layer1.0.conv1"``)."""
        if self.submodule_paths:
            path = self.submodule_paths.get(mod)
            if path is None:
                raise NameError("module is not installed as a submodule")
            return path
        for n, p in self.root.named_modules():
            if mod is p:
                return n
        raise NameError("module is not installed as a submodule")

    def call_module(self, m, forward: Callable, args: tuple, kwargs: dict) -> Any:
        """What a module call becomes: a ``call_module`` node for a leaf, else its traced ``forward``."""
        name = self.path_of_module(m)
        with ScopeContextManager(self.scope, Scope(name, type(m))) as scope:
            calls = self.num_calls.get(name, 0)
            key = f"{scope.module_path}@{calls}" if calls > 0 else scope.module_path
            self.module_stack[key] = (name, scope.module_type)
            self.num_calls[name] = calls + 1
            try:
                if not self.is_leaf_module(m, name):
                    return forward(*args, **kwargs)
                return self.create_proxy("call_module", name, args, kwargs)
            finally:
                self.module_stack.popitem(last=True)

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict[str, Proxy]) -> Any:
        """What reading a module attribute gives while tracing: a (cached) ``get_attr`` Proxy for a
        parameter (and for a buffer with ``proxy_buffer_attributes``), the value itself otherwise."""
        import dynagrad
        import dynagrad.nn as nn

        def proxy_for(collection):
            for n, p in collection:
                if attr_val is p:
                    if n not in parameter_proxy_cache:
                        factory = None
                        if self.param_shapes_constant:
                            factory = lambda node, n=n: ParameterProxy(self, node, n, attr_val)  # noqa: E731
                        kwargs = {}
                        if "proxy_factory_fn" in inspect.signature(self.create_proxy).parameters:
                            kwargs["proxy_factory_fn"] = factory
                        parameter_proxy_cache[n] = self.create_proxy("get_attr", n, (), {}, **kwargs)
                    return parameter_proxy_cache[n]
            return None

        if isinstance(attr_val, nn.Parameter):
            p = proxy_for(self.root.named_parameters())
            if p is not None:
                return p
        if self.proxy_buffer_attributes and isinstance(attr_val, dynagrad.Tensor):
            p = proxy_for(self.root.named_buffers())
            if p is not None:
                return p
        return attr_val

    # -- inputs ---------------------------------------------------------------------------------------------
    def create_args_for_root(self, root_fn: Callable, is_module: bool, concrete_args=None):
        """Placeholders for the parameters of ``root_fn`` (``self`` aside), ``*args`` and ``**kwargs``."""
        fn = inspect.unwrap(root_fn)
        co = fn.__code__
        total = co.co_argcount + co.co_kwonlyargcount
        names = iter(co.co_varnames)
        args: list[Any] = []
        skip = 0
        if is_module:
            if total == 0:
                raise RuntimeError("``self`` argument cannot be part of *args expansion!")
            skip = 1
            next(names)
            args.append(self.root)
        sig = inspect.signature(fn)
        has_var = co.co_flags & (_CO_VARARGS | _CO_VARKEYWORDS)
        if isinstance(concrete_args, tuple) and concrete_args and has_var and total == 1:
            for i, _ in enumerate(concrete_args):
                args.append(self.create_proxy("placeholder", f"input_{i}", (), {}))
            return root_fn, args
        arg_names = [next(names) for _ in range(skip, total)]
        if isinstance(concrete_args, tuple):
            if len(arg_names) != len(concrete_args):
                raise RuntimeError(f"Tracing expected {len(arg_names)} arguments but got {len(concrete_args)} "
                                   f"concrete arguments")
            concrete_args = dict(zip(arg_names, concrete_args))
        args.extend(self._proxy_placeholder(n, concrete_args, sig, fn) for n in arg_names)
        if co.co_kwonlyargcount > 0 or has_var:
            if co.co_flags & _CO_VARARGS:
                args.append(self._proxy_placeholder("*" + next(names), concrete_args, sig, fn))
            if co.co_flags & _CO_VARKEYWORDS:
                args.append(self._proxy_placeholder("**" + next(names), concrete_args, sig, fn))
            root_fn = _patch_function(root_fn, len(args))
        return root_fn, args

    def _proxy_placeholder(self, name: str, concrete_args, sig: inspect.Signature, fn) -> Any:
        if concrete_args is not None and name in concrete_args:
            count = [0]

            def replace_ph(x):
                count[0] += 1
                param = sig.parameters[name]
                default = () if param.default is inspect.Parameter.empty else (param.default,)
                out = self.create_proxy("placeholder", f"{name}_{count[0]}", default, {})
                if isinstance(x, PHBase):
                    if x is not PH:
                        for k, v in vars(x).items():
                            setattr(out.node, k, v)
                    return out
                import dynagrad
                if type(x) is bool or (type(x) in _base_types() and type(x) is not dynagrad.Tensor):
                    from ._names import torch_assert
                    torch_assert()(out == x, f"{name} has been specialized to have value {x} but got another value")
                elif x is None:
                    msg = f"{name} has been specialized to have value None but got another value"
                    self.create_proxy("call_function", _assert_is_none, (out, msg), {})
                else:
                    warnings.warn(f"Was not able to add assertion to guarantee correct input {name} to specialized "
                                  f"function. It is up to the user to make sure that your inputs match the inputs "
                                  f"you specialized the function with.", stacklevel=2)
                return x
            return _tree_map(replace_ph, concrete_args[name])
        if name[0] == "*":
            default = ()
        else:
            param = sig.parameters[name]
            default = () if param.default is inspect.Parameter.empty else (param.default,)
        return self.create_proxy("placeholder", name, default, {}, type_expr=fn.__annotations__.get(name, None))

    # -- tracing -----------------------------------------------------------------------------------------------
    def trace(self, root, concrete_args: dict[str, Any] | tuple | None = None) -> Graph:
        """Trace ``root`` (a module's ``forward``, or a function) into a Graph. ``concrete_args`` fixes
        some inputs to values (``{"flag": True}``): the graph then asserts they keep them."""
        import dynagrad.nn as nn
        global _is_fx_tracing
        was_tracing, _is_fx_tracing = _is_fx_tracing, True
        _patch.begin_trace()
        try:
            if isinstance(root, nn.Module):
                self.root = root
                if not hasattr(type(root), self.traced_func_name):
                    raise AssertionError(f"traced_func_name={self.traced_func_name} doesn't exist in "
                                         f"{type(root).__name__}")
                fn = getattr(type(root), self.traced_func_name)
                self.root_module_name = root._get_name()
                self.submodule_paths = {mod: name for name, mod in root.named_modules()}
            else:
                self.root = nn.Module()
                fn = root
            self.graph = Graph(tracer_cls=getattr(self, "__class__", None))
            code = getattr(fn, "__code__", None)
            if code is not None:
                self.graph._co_fields = {"co_name": code.co_name, "co_filename": code.co_filename,
                                         "co_firstlineno": code.co_firstlineno}
            self.tensor_attrs: dict = {}

            def collect_tensor_attrs(m, prefix: list[str]) -> None:
                import dynagrad
                for k, v in m.__dict__.items():
                    if isinstance(v, dynagrad.Tensor):
                        self.tensor_attrs[v] = ".".join(prefix + [k])
                for k, v in m.named_children():
                    collect_tensor_attrs(v, prefix + [k])
            collect_tensor_attrs(self.root, [])

            if not isinstance(fn, FunctionType):
                raise AssertionError(f"Expected FunctionType, got {type(fn)}")
            fn_globals = fn.__globals__
            fn, args = self.create_args_for_root(fn, isinstance(root, nn.Module), concrete_args)
            parameter_proxy_cache: dict[str, Proxy] = {}
            orig_getattr = nn.Module.__getattr__
            orig_call = nn.Module.__call__

            @functools.wraps(orig_getattr)
            def module_getattr_wrapper(mod, attr: str):
                return self.getattr(attr, orig_getattr(mod, attr), parameter_proxy_cache)

            @functools.wraps(orig_call)
            def module_call_wrapper(mod, *args, **kwargs):
                def forward(*args, **kwargs):
                    return orig_call(mod, *args, **kwargs)
                _autowrap_check(patcher, getattr(getattr(mod, "forward", mod), "__globals__", {}),
                                self._autowrap_function_ids)
                return self.call_module(mod, forward, args, kwargs)

            with _Patcher() as patcher:
                patcher.patch_method(nn.Module, "__getattr__", module_getattr_wrapper)
                patcher.patch_method(nn.Module, "__call__", module_call_wrapper)
                _patch_wrapped_functions(patcher)
                _autowrap_check(patcher, fn_globals, self._autowrap_function_ids)
                for module in self._autowrap_search:
                    _autowrap_check(patcher, module.__dict__, self._autowrap_function_ids)
                ret = inspect.get_annotations(inspect.unwrap(fn)).get("return", None)
                self.create_node("output", "output", (self.create_arg(fn(*args)),), {}, type_expr=ret)
            self.submodule_paths = None
        finally:
            _is_fx_tracing = was_tracing
            _patch.end_trace()
        return self.graph

    def __deepcopy__(self, memo):
        import copy
        new = Tracer.__new__(Tracer)
        for k, v in self.__dict__.items():
            new.__dict__[k] = copy.copy(v) if k == "_autowrap_search" else copy.deepcopy(v, memo)
        return new


def _tree_map(fn, tree):
    if isinstance(tree, (list, tuple)) and not hasattr(tree, "_fields"):
        return type(tree)(_tree_map(fn, x) for x in tree)
    if isinstance(tree, dict):
        return {k: _tree_map(fn, v) for k, v in tree.items()}
    return fn(tree)


def symbolic_trace(root, concrete_args: dict[str, Any] | None = None):
    """Trace a module or function into a ``GraphModule`` that runs the recorded graph as Python code.

    ``concrete_args`` fixes some inputs to values (e.g. a flag that steers control flow).
    """
    import dynagrad.nn as nn

    from .graph_module import GraphModule
    tracer = Tracer()
    graph = tracer.trace(root, concrete_args)
    name = root.__class__.__name__ if isinstance(root, nn.Module) else root.__name__
    return GraphModule(tracer.root, graph, name)
