"""PyTorch's names for what a graph refers to: FX prints and generates code in torch's vocabulary
(``torch.nn.functional.relu``, ``torch._C._nn.linear``), whatever module dynagrad defines a function in.

``functions()`` is the registry of dynagrad's public functions (those of ``dynagrad``, ``nn.functional``,
``special``, ``linalg``), each with the name FX gives it in PyTorch and how PyTorch hands FX its arguments.
``torch_ref()`` is the object the generated code sees as ``torch``: dynagrad, plus the paths PyTorch's
names take that dynagrad does not have as modules (``torch._C._nn.linear``, ``torch.functional.split``).
"""
from __future__ import annotations

import builtins
import importlib
import inspect
import re
import types
from typing import Any

from . import _torch_tables as T

# (torch namespace, dynagrad module); the first one a function object is found in names it, except PREFER
_NAMESPACES = (("torch", "dynagrad"), ("torch.nn.functional", "dynagrad.nn.functional"),
               ("torch.special", "dynagrad.special"), ("torch.linalg", "dynagrad.linalg"),
               ("torch.fft", "dynagrad.fft"))
# dynagrad.softmax is dynagrad.nn.functional.softmax: programs write F.softmax far more than torch.softmax
_PREFER = {"softmax": "torch.nn.functional", "log_softmax": "torch.nn.functional"}


class FnInfo:
    """A public dynagrad function as FX sees it."""

    __slots__ = ("fn", "key", "qualname", "name", "call", "dispatch", "_accepts")

    def __init__(self, fn, key: str) -> None:
        self.fn = fn
        self.key = key
        ns, _, short = key.rpartition(".")
        self.qualname = T.QUALNAMES.get(key) or _default_qualname(ns, short)
        self.name = self.qualname.rpartition(".")[2]
        self.call = _parse_call(T.CALLS[key]) if key in T.CALLS else None
        self.dispatch = key not in T.NO_DISPATCH
        self._accepts = None

    def accepts(self, impl) -> frozenset | None:
        """Parameter names dynagrad's own function takes (None: any keyword)."""
        if self._accepts is None:
            try:
                params = inspect.signature(impl).parameters.values()
            except (TypeError, ValueError):
                params = ()
            if not params or any(p.kind == p.VAR_KEYWORD for p in params):
                self._accepts = False
            else:
                self._accepts = frozenset(p.name for p in params)
        return self._accepts or None

    def normalize(self, impl, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """The arguments as PyTorch's FX records this call (for Python-level PyTorch functions, the fixed
        pattern they pass on; for the others, as the caller wrote them)."""
        if self.call is None:
            return args, kwargs
        sig, npos, kw = self.call
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:
            return args, kwargs
        bound.apply_defaults()
        values = bound.arguments
        names = list(sig.parameters)
        out_args: list = []
        for name in names[:npos]:
            if sig.parameters[name].kind == inspect.Parameter.VAR_POSITIONAL:
                out_args.extend(values[name])
            else:
                out_args.append(values[name])
        accepts = self.accepts(impl)
        out_kwargs = {}
        for name in (names[npos:] if kw is None else kw):
            if name in values and (accepts is None or name in accepts):
                out_kwargs[name] = values[name]
        return tuple(out_args), out_kwargs


def _default_qualname(ns: str, name: str) -> str:
    if ns == "torch.special":
        return f"torch._C._special.special_{name}"
    if ns == "torch.linalg":
        return f"torch._C._linalg.linalg_{name}"
    return f"{ns}.{name}"


def _parse_call(entry):
    text, npos, kw = entry
    sig = _signature_from_text(text)
    return sig, npos, kw


def _signature_from_text(text: str) -> inspect.Signature:
    ns: dict = {}
    exec(f"def f({text}): pass", {}, ns)  # the text is this package's own table, never user input
    return inspect.signature(ns["f"])


_registry: dict[int, FnInfo] | None = None


def functions() -> dict[int, FnInfo]:
    """id(function) -> FnInfo for dynagrad's public functions (built on first use)."""
    global _registry
    if _registry is None:
        reg: dict[int, FnInfo] = {}
        for ns, modname in _NAMESPACES:
            try:
                mod = importlib.import_module(modname)
            except ImportError:
                continue
            for name in sorted(T.PUBLIC.get(ns, ())):
                value = getattr(mod, name, None)  # (some are attached to their module on first use)
                if not isinstance(value, types.FunctionType):
                    continue
                have = reg.get(id(value))
                if have is None or _PREFER.get(name) == ns:
                    reg[id(value)] = FnInfo(value, f"{ns}.{name}")
        check = torch_assert()
        reg[id(check)] = FnInfo(check, "torch._assert")
        _registry = reg
    return _registry


def torch_assert():
    """``torch._assert``: dynagrad's when it has one, else this package's."""
    import dynagrad

    from ._symbolic_trace import _assert_impl
    return getattr(dynagrad, "_assert", _assert_impl)


def info(fn) -> FnInfo | None:
    reg = functions()
    i = reg.get(id(fn))
    return i if i is not None and i.fn is fn else None


def _dynagrad_to_torch(module: str) -> str:
    if module == "dynagrad" or module.startswith("dynagrad."):
        return "torch" + module[len("dynagrad"):]
    return module


def qualified_name(func) -> str:
    """The dotted name PyTorch's FX gives a callable (``torch.add``, ``operator.add`` is ``_operator.add``,
    builtins by their bare name)."""
    name = getattr(func, "__name__", None)
    if name is not None and getattr(builtins, name, None) is func:
        return name
    i = info(func)
    if i is not None:
        return i.qualname
    import dynagrad
    if isinstance(func, types.FunctionType) and vars(dynagrad.Tensor).get(name) is func:
        return f"torch.Tensor.{name}"
    if func is dynagrad.Tensor:
        return "torch.Tensor"
    if name == "<lambda>":
        try:
            name = inspect.getsource(func).split("=")[0].strip()
        except Exception as e:
            raise RuntimeError("Unable to represent lambda") from e
    module = getattr(func, "__module__", None)
    if module is None:
        raise RuntimeError(f"cannot find module for {func}")
    return f"{_dynagrad_to_torch(module)}.{name}"


def is_from_torch(obj) -> bool:
    """True for objects the generated code reaches through the ``torch`` global."""
    if info(obj) is not None:
        return True
    module = getattr(obj, "__module__", None)
    if isinstance(module, str):
        return module == "dynagrad" or module.startswith("dynagrad.")
    return False


def target_base_name(target) -> str:
    """The name a node is named after: the function's name as PyTorch spells it, or a method/attribute name."""
    if callable(target):
        i = info(target)
        op = i.name if i is not None else target.__name__
    else:
        if not isinstance(target, str):
            raise AssertionError(f"Expected target to be str, got {type(target)}")
        op = target
        if op.startswith("__") and op.endswith("__"):
            op = op[2:-2]
    return snake_case(op)


_snake = re.compile(r"(?<=[a-z])([A-Z])")


def snake_case(s: str) -> str:
    """``pascalCase`` -> ``pascal_case``, as FX names nodes."""
    return _snake.sub(r"_\1", s).lower()


def type_repr(obj) -> str:
    """A type annotation as Python source (``torch.Tensor``, ``bool``, ``typing.List[int]``)."""
    import dynagrad
    if obj is dynagrad.Tensor:
        return "torch.Tensor"
    if isinstance(obj, type):
        if obj.__module__ == "builtins":
            return obj.__qualname__
        return f"{_dynagrad_to_torch(obj.__module__)}.{obj.__qualname__}"
    if obj is ...:
        return "..."
    if isinstance(obj, types.FunctionType):
        return obj.__name__
    return repr(obj).replace("dynagrad.tensor.Tensor", "torch.Tensor")


# -- the `torch` the generated code sees ------------------------------------------------------------------
class _Ref:
    """A namespace that answers from its own table first, then from the real object at the same path."""

    def __init__(self, real, table: dict) -> None:
        self.__dict__["_real"] = real
        self.__dict__["_table"] = table

    def __getattr__(self, name: str):
        entry = self._table.get(name)
        if entry is None:
            if self._real is None:
                raise AttributeError(name)
            return getattr(self._real, name)
        if isinstance(entry, dict):
            value = _Ref(getattr(self._real, name, None) if self._real is not None else None, entry)
        else:
            value = entry
        self.__dict__[name] = value
        return value

    def __repr__(self) -> str:
        return "<module 'torch' (dynagrad)>" if isinstance(self._real, types.ModuleType) and \
            self._real.__name__ == "dynagrad" else f"<torch namespace {self._real!r}>"


_torch_ref = None


def _resolve(path: list[str]):
    import dynagrad
    obj: Any = dynagrad
    for part in path:
        obj = getattr(obj, part, _MISSING)
        if obj is _MISSING:
            return _MISSING
    return obj


_MISSING = object()


def torch_ref():
    """The ``torch`` of generated code: every qualified name the registry prints resolves through it."""
    global _torch_ref
    if _torch_ref is None:
        import dynagrad
        table: dict = {}
        for i in functions().values():
            path = i.qualname.split(".")[1:]
            if _resolve(path) is i.fn:
                continue
            node = table
            for part in path[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    break
            else:
                node[path[-1]] = i.fn
        table["_assert"] = torch_assert()
        _torch_ref = _Ref(dynagrad, table)
    return _torch_ref
