"""How dynagrad's functions and Tensor methods record into a graph when they meet a Proxy.

PyTorch's functions find a Proxy among their arguments through ``__torch_function__``. dynagrad has no such
protocol, and adding a check to every function would cost every eager op. Instead, while any Proxy exists,
each public dynagrad function (``dynagrad.*``, ``nn.functional.*``, ``special.*``, ``linalg.*``) and each
Tensor method runs a trampoline: the function object keeps its identity (so ``node.target is F.relu`` and a
reference stored in ``__init__`` or imported with ``from ... import`` all behave), only its ``__code__`` is
swapped for one that looks for a Proxy among the arguments. With a Proxy it records a ``call_function``
node (a ``call_method`` node for Tensor methods) instead of computing; without one it calls the original
code unchanged. When the last Proxy is gone the original code objects are put back, so eager code never
pays for this.
"""
from __future__ import annotations

import bisect
import dis
import sys
import threading
import types
import warnings

_lock = threading.RLock()
_active = 0
# traces and transforms running: their Proxies do not count one by one (so the Proxies an exception's
# traceback keeps after a failed trace do not keep the trampolines installed)
tracing = 0
_entries: list[_Entry] | None = None
_templates: dict[tuple[str, ...], types.CodeType] = {}
_find_tracer = None  # proxy._find_tracer, bound when the entries are built

# Tensor dunders whose PyTorch method name differs (``tensor + proxy`` records ``add``, as in PyTorch)
_METHOD_NAMES = {"__add__": "add", "__sub__": "sub", "__mul__": "mul", "__truediv__": "div", "__div__": "div",
                 "__mod__": "remainder", "__pow__": "pow", "__matmul__": "matmul", "__lt__": "lt", "__gt__": "gt",
                 "__le__": "le", "__ge__": "ge", "__eq__": "eq", "__ne__": "ne"}
# Tensor methods that are Python protocol, not operations on values
_NOT_RECORDED = frozenset({
    "__init__", "__new__", "__repr__", "__str__", "__format__", "__hash__", "__bool__", "__len__", "__iter__",
    "__reduce__", "__reduce_ex__", "__getstate__", "__setstate__", "__deepcopy__", "__copy__", "__array__",
    "__array_wrap__", "__dlpack__", "__dlpack_device__", "__del__", "__sizeof__", "__dir__", "__index__",
    "__int__", "__float__", "__complex__", "__getattr__", "__getattribute__", "__setattr__", "__delattr__",
    "__init_subclass__", "__class_getitem__", "__torch_function__", "__array_function__", "__array_ufunc__",
})


class _Entry:
    __slots__ = ("fn", "orig_code", "tramp_code", "impl", "method", "info", "operator_method", "tensor_methods")

    def __init__(self, fn, method: str | None, info) -> None:
        self.fn = fn
        self.method = method
        self.info = info
        # a public function that is also a Tensor operator (Tensor.__floordiv__ is dynagrad.floor_divide):
        # the method name to record when an operator, not a call, reached it
        self.operator_method: str | None = None
        # a public function that is also a Tensor method (Tensor.mul is dynagrad.mul): the method names a
        # call through a tensor (``t.mul(proxy)``) records, as PyTorch's FX does, instead of the function
        self.tensor_methods: frozenset = frozenset()
        self.orig_code = fn.__code__
        impl = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
        impl.__kwdefaults__ = fn.__kwdefaults__
        impl.__dict__.update(fn.__dict__)
        self.impl = impl
        self.tramp_code = _trampoline_code(self)


def _dispatch(entry: _Entry, args: tuple, kwargs: dict):
    tracer = _find_tracer(args, kwargs)
    if tracer is None:
        return entry.impl(*args, **kwargs)
    if entry.method is not None:
        return tracer.create_proxy("call_method", entry.method, args, kwargs)
    if entry.operator_method is not None or entry.tensor_methods:
        kind, name = _call_kind(sys._getframe(2), entry.tensor_methods)
        if kind == "operator" and entry.operator_method is not None:
            return tracer.create_proxy("call_method", entry.operator_method, args, kwargs)
        if kind == "method":
            return tracer.create_proxy("call_method", name, args, kwargs)
    args, kwargs = entry.info.normalize(entry.impl, args, kwargs)
    return tracer.create_proxy("call_function", entry.fn, args, kwargs)


_OPERATOR_OPS = frozenset({"BINARY_OP", "COMPARE_OP", "BINARY_SUBSCR", "STORE_SUBSCR", "UNARY_NEGATIVE",
                           "UNARY_INVERT", "UNARY_POSITIVE", "CONTAINS_OP"})


_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_FAST", "LOAD_DEREF", "LOAD_CLASSDEREF"})


def _call_kind(frame, methods: frozenset) -> tuple[str, str | None]:
    """How the frame reached the function: an operator (``a // b``), a Tensor method call
    (``t.mul(x)``: "method" and its name) or a function call (``torch.mul(t, x)``)."""
    insts = list(dis.get_instructions(frame.f_code))
    # the instruction running: f_lasti may point into its inline caches, past its own offset
    i = bisect.bisect_right(insts, frame.f_lasti, key=lambda x: x.offset) - 1
    if i < len(insts) and insts[i].opname in _OPERATOR_OPS:
        return "operator", None
    if not methods:
        return "call", None
    # the callee is the nearest attribute load of one of the method names before the call
    j = i - 1
    while j >= 0 and not (insts[j].opname in ("LOAD_METHOD", "LOAD_ATTR") and insts[j].argval in methods):
        j -= 1
    if j < 0:
        return "call", None
    name = insts[j].argval
    # its receiver: a chain ``root.a.b`` of plain loads; a module there makes it a function call
    k = j - 1
    while k >= 0 and insts[k].opname == "LOAD_ATTR":
        k -= 1
    if k < 0 or insts[k].opname not in _LOADS:
        return "method", name
    root = insts[k].argval
    if insts[k].opname in ("LOAD_GLOBAL", "LOAD_NAME"):
        # not frame.f_locals unless the root is a local: its snapshot would keep the frame's Proxies alive
        scopes = (frame.f_globals, frame.f_builtins)
    else:
        scopes = (frame.f_locals,)
    obj = next((sc[root] for sc in scopes if root in sc), None)
    for ins in insts[k + 1:j]:
        if not isinstance(obj, types.ModuleType):
            break
        obj = getattr(obj, ins.argval, None)
    return ("call", None) if isinstance(obj, (types.ModuleType, type)) else ("method", name)


def _template(freevars: tuple[str, ...]) -> types.CodeType:
    """A code object ``(*args, **kwargs) -> dispatch(entry, args, kwargs)`` with these free variables, so it
    can stand in for a closure's code (a function's code must keep its closure's layout)."""
    code = _templates.get(freevars)
    if code is None:
        refs = f"        if 0:\n            ({', '.join(freevars)},)\n" if freevars else ""
        src = (f"def _make({', '.join(freevars)}):\n"
               f"    def _trampoline(*args, **kwargs):\n{refs}"
               f"        return '__dispatch__'('__entry__', args, kwargs)\n"
               f"    return _trampoline\n")
        ns: dict = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # calling a str constant: replaced below
            exec(compile(src, __file__, "exec"), ns)
        code = ns["_make"](*([None] * len(freevars))).__code__
        if code.co_freevars != freevars:
            raise AssertionError(f"trampoline closure layout {code.co_freevars} != {freevars}")
        _templates[freevars] = code
    return code


def _trampoline_code(entry: _Entry) -> types.CodeType:
    orig = entry.orig_code
    tpl = _template(orig.co_freevars)
    consts = tuple(_dispatch if c == "__dispatch__" else entry if c == "__entry__" else c
                   for c in tpl.co_consts)
    return tpl.replace(co_consts=consts, co_name=orig.co_name, co_qualname=orig.co_qualname)


def _build() -> list[_Entry]:
    import dynagrad

    global _find_tracer
    from . import _names
    from .proxy import _find_tracer
    entries: dict[int, _Entry] = {}
    for info in _names.functions().values():
        if info.dispatch and id(info.fn) not in entries:
            entries[id(info.fn)] = _Entry(info.fn, None, info)
    for name, value in list(vars(dynagrad.Tensor).items()):
        if not isinstance(value, types.FunctionType) or name in _NOT_RECORDED:
            continue
        dunder = name.startswith("__") and name.endswith("__")
        if name.startswith("_") and not dunder:
            continue
        have = entries.get(id(value))
        if have is None:
            entries[id(value)] = _Entry(value, _METHOD_NAMES.get(name, name), None)
        elif dunder and have.method is None and have.operator_method is None:
            have.operator_method = _METHOD_NAMES.get(name, name)
        elif not dunder and have.method is None:
            have.tensor_methods |= {name}
    return list(entries.values())


def begin_trace() -> None:
    global tracing
    acquire()
    tracing += 1


def end_trace() -> None:
    global tracing
    tracing -= 1
    release()


def acquire() -> None:
    """One more Proxy alive (or a trace running): trampolines are installed while the count is positive."""
    global _active, _entries
    with _lock:
        _active += 1
        if _active == 1:
            if _entries is None:
                _entries = _build()
            for e in _entries:
                e.fn.__code__ = e.tramp_code


def release() -> None:
    global _active
    with _lock:
        _active -= 1
        if _active == 0 and _entries is not None:
            for e in _entries:
                e.fn.__code__ = e.orig_code


def active() -> bool:
    return _active > 0
